// SPDX-License-Identifier: GPL-2.0
/*
 * kbank_hang: hangs the guest on purpose, so that the harness's diagnosis of
 * a hung guest (scripts/vm/vm.sh) can be tested. Never load it anywhere else.
 *
 *   insmod kbank_hang.ko cpus=all   every CPU spins with interrupts off:
 *                                   the guest goes silent, as in a hang
 *                                   where no CPU is left to report anything
 *   insmod kbank_hang.ko cpus=one   only the loading CPU does: the others
 *                                   still run (RCU reports the stall later)
 *
 * The spin is a function of its own, not inlined, so that a backtrace names
 * it.
 */
#include <linux/module.h>
#include <linux/smp.h>
#include <linux/irqflags.h>

static char *cpus = "all";
module_param(cpus, charp, 0444);
MODULE_PARM_DESC(cpus, "all: every CPU spins with interrupts off; one: only this one");

static noinline void kbank_hang_spin(void *unused)
{
	local_irq_disable();
	for (;;)
		cpu_relax();
}

static int __init kbank_hang_init(void)
{
	pr_info("kbank_hang: spinning with interrupts off on %s CPU(s)\n",
		strcmp(cpus, "one") ? "every" : "this");
	if (strcmp(cpus, "one"))
		/* The others in their IPI handler, this one inline. */
		on_each_cpu(kbank_hang_spin, NULL, 0);
	else
		kbank_hang_spin(NULL);
	return 0;
}
module_init(kbank_hang_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Hangs the guest on purpose: a test of the harness");
