// SPDX-License-Identifier: GPL-2.0
/*
 * suite-kernel: the kernel's own view: KCSAN reports mode none's race and
 * the KUnit tests pass (the debug kernel), and the taint flags are what
 * bank.ko explains; run last.
 *
 * suite-kernel --help: how to run it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helpers.h"

/* Read the whole kernel log into @buf; return its length. */
static int kernel_log(char *buf, int size)
{
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size - 1);

	ASSERT_TRUE(n >= 0);
	buf[n] = '\0';
	return n;
}

TEST_TIMEOUT(kcsan_sees_the_race_in_none, 300)
{
	static char log[1 << 20];
	const char *report =
		"BUG: KCSAN: data-race in bank_update_none [bank] / bank_update_none [bank]";
	int round;

	if (access("/sys/kernel/debug/kcsan", F_OK) != 0)
		SKIP("this kernel has no KCSAN (make check-debug has)");
	/* The tool must catch the bug it is there for: the unlocked update. */
	for (round = 1; round <= 10; round++) {
		setup("none", 1000000);
		hammer(2, 20000, 0);
		kernel_log(log, sizeof(log));
		if (strstr(log, report))
			break;
	}
	TH_LOG("KCSAN reported the race after %d round(s) of 2 x 20000 ops", round);
	EXPECT_TRUE(strstr(log, report) != NULL);
}

TEST(kunit_bank_logic)
{
	static const char *const cases[] = {
		"bank_logic_deposit", "bank_logic_withdraw", "bank_logic_batch",
		"bank_logic_change", "bank_logic_apply_matches_batch",
		"bank_logic_transfer", "bank_logic_lock_names",
	};
	char results[8192], want[128];
	unsigned int i;
	FILE *f;
	size_t n;
	int fd;

	if (access("/kbank/bank_logic_test.ko", F_OK) != 0)
		SKIP("no KUnit in this kernel (make check-debug has it)");
	fd = open("/kbank/bank_logic_test.ko", O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(syscall(SYS_finit_module, fd, "", 0), 0);
	close(fd);
	f = fopen("/sys/kernel/debug/kunit/bank_logic/results", "r");
	ASSERT_TRUE(f != NULL);
	n = fread(results, 1, sizeof(results) - 1, f);
	fclose(f);
	results[n] = '\0';
	EXPECT_TRUE(strstr(results, "not ok") == NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "ok %u %s", i + 1, cases[i]);
		if (!strstr(results, want)) {
			TH_FAIL("missing '%s' in the results:", want);
			fputs(results, stdout);
		}
	}
	EXPECT_EQ(syscall(SYS_delete_module, "bank_logic_test", O_NONBLOCK), 0);
}

/*
 * Last: the kernel's taint flags are exactly what loading bank.ko explains.
 * O (4096) must be set: bank.ko is built outside the kernel's tree. E (8192)
 * may be: it is unsigned, and Debian's kernel checks signatures. N (262144)
 * may be, where KUnit ran (the debug kernel). Any other flag, such as W (a
 * kernel warning) or D (an oops), fails.
 */
TEST(kernel_taint_only_out_of_tree_unsigned)
{
	const unsigned long out_of_tree = 1UL << 12, unsigned_module = 1UL << 13,
			    kunit = 1UL << 18;
	/* Natively, also whatever the kernel had before the run. */
	const char *before = getenv("KBANK_TAINT_BEFORE");
	unsigned long taint, allowed = out_of_tree | unsigned_module |
		(before ? strtoul(before, NULL, 10) : 0);
	char buf[32];

	if (access("/sys/kernel/debug/kunit", F_OK) == 0)
		allowed |= kunit;
	ASSERT_EQ(read_line("/proc/sys/kernel/tainted", buf, sizeof(buf)), 0);
	taint = strtoul(buf, NULL, 10);
	TH_LOG("tainted = %lu:%s%s%s", taint,
	       taint & out_of_tree ? " O (out-of-tree module)" : "",
	       taint & unsigned_module ? " E (unsigned module)" : "",
	       taint & kunit ? " N (KUnit test ran)" : "");
	EXPECT_TRUE(taint & out_of_tree);
	EXPECT_EQ(taint & ~allowed, 0);
}

SUITE_MAIN("suite-kernel: KCSAN, KUnit and the kernel's taint flags.")
