// SPDX-License-Identifier: GPL-2.0
/*
 * suite-interest: interest paid by a timer (interest_ms, interest_ctx), in
 * softirq, hardirq or a workqueue: every locked mode stays exact with the
 * payer running beside deposits, withdrawals and transfers; mode none
 * loses money to it; the parameters change only while /dev/bank is
 * closed, and what cannot work is refused; the trace says where each
 * payment ran.
 *
 * suite-interest --help: how to run it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define TRACEFS "/sys/kernel/tracing"

/* Every locked mode with every payer it accepts. */
FIXTURE(payer);
FIXTURE_VARIANT(payer) {
	const char *lock;
	const char *ctx;
};
FIXTURE_VARIANT_ADD(payer, spinlock_softirq) { .lock = "spinlock", .ctx = "softirq" };
FIXTURE_VARIANT_ADD(payer, spinlock_hardirq) { .lock = "spinlock", .ctx = "hardirq" };
FIXTURE_VARIANT_ADD(payer, spinlock_workqueue) { .lock = "spinlock", .ctx = "workqueue" };
FIXTURE_VARIANT_ADD(payer, mutex_workqueue) { .lock = "mutex", .ctx = "workqueue" };
FIXTURE_VARIANT_ADD(payer, atomic_softirq) { .lock = "atomic", .ctx = "softirq" };
FIXTURE_VARIANT_ADD(payer, atomic_hardirq) { .lock = "atomic", .ctx = "hardirq" };
FIXTURE_VARIANT_ADD(payer, atomic_workqueue) { .lock = "atomic", .ctx = "workqueue" };

/* PREEMPT_RT refuses a hardirq payer: its spinlock_t sleeps. */
static int preempt_rt(void)
{
	struct utsname u;

	/*
	 * The kernel's version string says "PREEMPT_RT" (scripts/mkcompile_h);
	 * /sys/kernel/realtime, the RT patch's file, is gone from 7.x's.
	 */
	if (access("/sys/kernel/realtime", F_OK) == 0)
		return 1;
	return uname(&u) == 0 && strstr(u.version, "PREEMPT_RT") != NULL;
}

/* Lockdep (CONFIG_PROVE_LOCKING) is in this kernel. */
static int has_lockdep(void)
{
	return access("/proc/lockdep_chains", F_OK) == 0;
}

/* Interest off, from the workqueue, with the right primitive. */
static void interest_off(void)
{
	ASSERT_EQ(bank_param_write("interest_ms", "0"), 0);
	ASSERT_EQ(bank_param_write("interest_ctx", "workqueue"), 0);
	ASSERT_EQ(bank_param_write("interest_lock", "safe"), 0);
}

/* Mode @lock at @start, then a payment every @ms from @ctx. */
static void setup_payer(const char *lock, const char *ctx, const char *ms,
			int64_t start)
{
	interest_off();
	setup(lock, start);
	ASSERT_EQ(bank_param_write("interest_ctx", ctx), 0);
	ASSERT_EQ(bank_param_write("interest_ms", ms), 0);
}

/*
 * A thread moving 1 around the accounts, 3000 times (a thread: hammer()
 * reaps every child process). Its result: the transfers that failed.
 */
static void *transferrer(void *arg)
{
	int fd = dev_open(O_RDWR);
	uint32_t n = *(uint32_t *)arg;
	long i, failed = 0;

	for (i = 0; i < 3000; i++)
		if (xfer(fd, i % n, (i + 1) % n, 1, NULL))
			failed++;
	close(fd);
	return (void *)failed;
}

/*
 * The payer in the middle of 4 depositing and withdrawing processes and
 * one moving money between the accounts: "expected" is the balance, at
 * any snapshot, while it pays and after; and every account got the same
 * payments, which the transfers did not change.
 */
TEST_F_TIMEOUT(payer, interest_keeps_expected, 600)
{
	struct bank_accounts before, after;
	struct bank_stats st;
	long long paid, total_before, total_after;
	void *failed;
	pthread_t t;

	if (preempt_rt() && !strcmp(variant->ctx, "hardirq"))
		SKIP("PREEMPT_RT refuses interest_ctx=hardirq (see refusals)");
	interest_off();
	setup(variant->lock, 1000);
	before = get_accounts();
	total_before = accounts_total(&before);
	/* Updates that hold the lock a while: payments fall into them. */
	ASSERT_EQ(bank_param_write("delay_us", "10"), 0);
	ASSERT_EQ(bank_param_write("interest_ctx", variant->ctx), 0);
	ASSERT_EQ(bank_param_write("interest_ms", "1"), 0);

	ASSERT_EQ(pthread_create(&t, NULL, transferrer, &before.count), 0);
	hammer(4, 10000, 0);
	ASSERT_EQ(pthread_join(t, &failed), 0);
	EXPECT_TRUE(failed == NULL);
	/* A snapshot under the lock, with the payer still paying. */
	st = get_stats();
	EXPECT_EQ(st.expected, st.balance);

	ASSERT_EQ(bank_param_write("interest_ms", "0"), 0);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
	st = get_stats();
	after = get_accounts();
	total_after = accounts_total(&after);
	paid = (long long)st.deposits - 4 * 5000;
	TH_LOG("%-8s %-9s delay_us=10, 4 x 10000 ops, 3000 transfers: %lld payments, balance %lld expected %lld",
	       variant->lock, variant->ctx, paid, (long long)st.balance,
	       (long long)st.expected);
	EXPECT_EQ(st.expected, st.balance);
	EXPECT_EQ(st.withdrawals, 4 * 5000);
	/* Paid at all, or this proves nothing. */
	EXPECT_TRUE(paid > 0);
	/* Each payment went into every account; transfers moved money only. */
	EXPECT_EQ(total_after - total_before, paid * (long long)after.count);
}

/*
 * Mode none: a deposit reads, sleeps delay_us, and writes back, erasing
 * the payments made meanwhile. "expected" counted them: it is ahead.
 */
TEST_TIMEOUT(none_loses_interest, 120)
{
	struct bank_stats st;
	int fd, i;

	setup_payer("none", "softirq", "1", 1000);
	ASSERT_EQ(bank_param_write("delay_us", "5000"), 0);
	fd = dev_open(O_RDWR);
	for (i = 0; i < 20; i++)
		ASSERT_EQ(op(fd, BANK_IOC_DEPOSIT, 1, NULL), 0);
	close(fd);
	ASSERT_EQ(bank_param_write("interest_ms", "0"), 0);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
	st = get_stats();
	TH_LOG("none: 20 deposits of 1 with delay_us=5000, a payment each ms: balance %lld expected %lld",
	       (long long)st.balance, (long long)st.expected);
	EXPECT_TRUE(st.expected > st.balance);
	interest_off();
}

/* Like "lock": the payer's parameters never change under an open descriptor. */
TEST(interest_params_busy_while_open)
{
	int fd;

	interest_off();
	setup("spinlock", 1000);
	fd = dev_open(O_RDONLY);
	EXPECT_ERRNO(bank_param_write("interest_ms", "5"), EBUSY);
	EXPECT_ERRNO(bank_param_write("interest_ctx", "softirq"), EBUSY);
	EXPECT_ERRNO(bank_param_write("interest_lock", "plain"), EBUSY);
	close(fd);
	/* Closed: accepted. */
	EXPECT_EQ(bank_param_write("interest_ctx", "softirq"), 0);
	EXPECT_EQ(bank_param_write("interest_ms", "5"), 0);
	EXPECT_EQ(bank_param_write("interest_ms", "0"), 0);
	interest_off();
}

TEST(interest_refuses_what_cannot_work)
{
	interest_off();
	setup("spinlock", 1000);
	EXPECT_ERRNO(bank_param_write("interest_ctx", "tasklet"), EINVAL);
	EXPECT_ERRNO(bank_param_write("interest_ms", "10001"), EINVAL);
	EXPECT_ERRNO(bank_param_write("interest_ms", "-1"), EINVAL);
	EXPECT_ERRNO(bank_param_write("interest_lock", "bh"), EINVAL);

	/* A mutex for a timer: refused both ways round. */
	ASSERT_EQ(bank_param_write("lock", "mutex"), 0);
	ASSERT_EQ(bank_param_write("interest_ms", "5"), 0);
	EXPECT_ERRNO(bank_param_write("interest_ctx", "softirq"), EINVAL);
	EXPECT_ERRNO(bank_param_write("interest_ctx", "hardirq"), EINVAL);
	ASSERT_EQ(bank_param_write("interest_ms", "0"), 0);
	ASSERT_EQ(bank_param_write("interest_ctx", "softirq"), 0);
	EXPECT_ERRNO(bank_param_write("interest_ms", "5"), EINVAL);
	ASSERT_EQ(bank_param_write("lock", "spinlock"), 0);
	ASSERT_EQ(bank_param_write("interest_ms", "5"), 0);
	EXPECT_ERRNO(bank_param_write("lock", "mutex"), EINVAL);
	/* The other modes take any payer. */
	EXPECT_EQ(bank_param_write("lock", "atomic"), 0);
	EXPECT_EQ(bank_param_write("lock", "none"), 0);
	EXPECT_EQ(bank_param_write("lock", "spinlock"), 0);

	/* hardirq: not on PREEMPT_RT. */
	if (preempt_rt())
		EXPECT_ERRNO(bank_param_write("interest_ctx", "hardirq"), EINVAL);
	else
		EXPECT_EQ(bank_param_write("interest_ctx", "hardirq"), 0);

	/* The wrong primitive: only where lockdep proves it wrong. */
	if (!has_lockdep())
		EXPECT_ERRNO(bank_param_write("interest_lock", "plain"), EINVAL);
	interest_off();
	ASSERT_EQ(bank_param_write("lock", "mutex"), 0);
}

/* At load, the same refusal fails the load; unload stops a running payer. */
TEST_TIMEOUT(interest_load_and_unload, 120)
{
	ASSERT_EQ(mod_unload(), 0);
	EXPECT_EQ(mod_load("lock=mutex interest_ms=5 interest_ctx=softirq"), EINVAL);
	EXPECT_EQ(mod_load("interest_ctx=irq"), EINVAL);
	EXPECT_EQ(module_loaded(), 0);
	/* Every context running at unload: nothing may be left behind. */
	ASSERT_EQ(mod_load(preempt_rt() ? "lock=spinlock interest_ms=1 interest_ctx=softirq"
			   : "lock=spinlock interest_ms=1 interest_ctx=hardirq"), 0);
	sleep_ms(100);
	EXPECT_TRUE(get_stats().deposits > 0);
	ASSERT_EQ(mod_unload(), 0);
	ASSERT_EQ(mod_load("lock=atomic interest_ms=1 interest_ctx=softirq"), 0);
	sleep_ms(100);
	ASSERT_EQ(mod_unload(), 0);
	ASSERT_EQ(mod_load("interest_ms=1"), 0);
	sleep_ms(100);
	EXPECT_TRUE(get_stats().deposits > 0);
	ASSERT_EQ(mod_unload(), 0);
	ASSERT_EQ(mod_load(""), 0);
}

/* The trace event bank_interest says where each payment ran. */
TEST_F_TIMEOUT(payer, interest_traced_in_its_context, 120)
{
	char line[512], want[32];
	int seen = 0, other = 0;
	FILE *f;

	if (access(TRACEFS "/events/bank/bank_interest", F_OK))
		SKIP("no tracefs at " TRACEFS);
	if (preempt_rt() && !strcmp(variant->ctx, "hardirq"))
		SKIP("PREEMPT_RT refuses interest_ctx=hardirq");
	ASSERT_EQ(run("echo 0 > " TRACEFS "/tracing_on && echo > " TRACEFS "/trace && "
		      "echo 1 > " TRACEFS "/events/bank/bank_interest/enable && "
		      "echo 1 > " TRACEFS "/tracing_on"), 0);
	setup_payer(variant->lock, variant->ctx, "2", 1000);
	sleep_ms(100);
	interest_off();
	ASSERT_EQ(run("echo 0 > " TRACEFS "/tracing_on && "
		      "echo 0 > " TRACEFS "/events/bank/enable"), 0);
	snprintf(want, sizeof(want), " ctx=%s ", variant->ctx);
	f = fopen(TRACEFS "/trace", "r");
	ASSERT_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "bank_interest:"))
			continue;
		if (strstr(line, want))
			seen++;
		else
			other++;
	}
	fclose(f);
	TH_LOG("%s %s: %d payments traced in %s, %d elsewhere", variant->lock,
	       variant->ctx, seen, variant->ctx, other);
	EXPECT_TRUE(seen > 0);
	EXPECT_EQ(other, 0);
}

SUITE_MAIN("interest paid by a timer: conservation in every mode and context, refusals, trace")
