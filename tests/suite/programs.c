// SPDX-License-Identifier: GPL-2.0
/*
 * suite-programs: the programs (deposit, withdraw, bankctl, bank-race, bank-
 * bench): usage, errors and the settings they put back; this suite as 32-bit
 * processes; the Python port.
 *
 * suite-programs --help: how to run it.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

TEST(programs_help_and_usage_errors)
{
	static const char *const progs[] = {
		"deposit", "withdraw", "bankctl", "bank-race", "bank-bench",
	};
	char cmd[PATH_MAX + 128];
	unsigned int i;

	for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s --help | grep -q '^Usage: %s'",
			 prog(progs[i]), progs[i]);
		EXPECT_EQ(run(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s --bogus 2>/dev/null", prog(progs[i]));
		EXPECT_EQ(run(cmd), 2);
	}
	snprintf(cmd, sizeof(cmd), "%s -n -1 2>/dev/null", prog("deposit"));
	EXPECT_EQ(run(cmd), 2);
	snprintf(cmd, sizeof(cmd), "%s -a 0 2>/dev/null", prog("withdraw"));
	EXPECT_EQ(run(cmd), 2);
}

TEST(programs_report_failed_calls)
{
	char cmd[PATH_MAX + 256];

	setup("mutex", 5);
	/* withdraw --nonblock of more than there is: EAGAIN, named, exit 1. */
	snprintf(cmd, sizeof(cmd),
		 "%s -N -a 6 -n 1 -s 0 2>&1 | grep -q '^withdraw: ioctl BANK_IOC_WITHDRAW: Resource temporarily unavailable$'",
		 prog("withdraw"));
	EXPECT_EQ(run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s -N -a 6 -n 1 -s 0 2>/dev/null",
		 prog("withdraw"));
	EXPECT_EQ(run(cmd), 1);
	snprintf(cmd, sizeof(cmd), "%s -d /nonexistent -n 1 2>&1 | grep -q '^deposit: open /nonexistent: No such file or directory$'",
		 prog("deposit"));
	EXPECT_EQ(run(cmd), 0);
	EXPECT_EQ(get_balance(), 5);
}

TEST(bankctl_commands)
{
	char cmd[PATH_MAX + 256];
	char ctl[PATH_MAX + 64];

	setup("mutex", 200);
	snprintf(ctl, sizeof(ctl), "%s", prog("bankctl"));
#define CTL(args, want) \
	do { \
		snprintf(cmd, sizeof(cmd), "test \"$(%s " args ")\" = \"" want "\"", ctl); \
		EXPECT_EQ(run(cmd), 0); \
	} while (0)
	CTL("balance", "200");
	CTL("deposit 5", "205");
	CTL("withdraw 10", "195");
	CTL("withdraw 1000 --nonblock 2>&1", "bankctl: ioctl BANK_IOC_WITHDRAW: Resource temporarily unavailable");
	CTL("set 42 && echo done", "done");
	CTL("balance", "42");
	CTL("stats | sed -n 's/^deposits: *//p'", "0");
	CTL("lock", "mutex");
	CTL("lock atomic && echo switched", "switched");
	CTL("stats | sed -n 's/^lock: *//p'", "atomic");
	CTL("lock bogus 2>&1", "bankctl: write /sys/module/bank/parameters/lock: Invalid argument");
	CTL("delay 7 && echo set", "set");
	CTL("delay", "7");
	CTL("set -1 2>&1", "bankctl: ioctl BANK_IOC_SET_BALANCE: Invalid argument");
#undef CTL
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
}

TEST_TIMEOUT(bank_race_runner_rows, 120)
{
	char cmd[PATH_MAX + 256];

	/* Locked: exit 0 and "exact"; none with a window: exit 3, lost. */
	snprintf(cmd, sizeof(cmd), "%s -m mutex -D 0 -p 2 -n 2000 -s 0 | grep -q ' exact$'",
		 prog("bank-race"));
	EXPECT_EQ(run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s -m none -D 50 -b 100000 -n 3000 -s 0 >/dev/null",
		 prog("bank-race"));
	EXPECT_EQ(run(cmd), 3);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
}

/*
 * bank-bench puts back what it changed: the lock mode, delay_us and the
 * balances of the accounts it used (it sets them to 10^15 for its run),
 * when it ends, when SIGINT, SIGTERM or SIGHUP ends it, and when a call
 * fails after it changed the lock.
 */
TEST_TIMEOUT(bank_bench_puts_settings_back, 120)
{
	static const struct {
		const char *sig;
		int status;
	} ends[] = {
		{ NULL, 0 }, { "INT", 128 + SIGINT }, { "TERM", 128 + SIGTERM },
		{ "HUP", 128 + SIGHUP },
	};
	const unsigned int n = sizeof(ends) / sizeof(ends[0]);
	struct bank_accounts before;
	char cmd[PATH_MAX + 256], buf[32];
	unsigned int i;
	int fd, want;

	setup("spinlock", 777);
	ASSERT_EQ(bank_param_write("delay_us", "3"), 0);
	fd = dev_open(O_RDWR);
	ASSERT_EQ(xfer(fd, 0, 2, 5, NULL), 0);
	close(fd);
	before = get_accounts();
	/* Each way to end, then a failed open after the lock changed. */
	for (i = 0; i <= n; i++) {
		want = i < n ? ends[i].status : EXIT_CALL;
		if (i == n)
			snprintf(cmd, sizeof(cmd), "%s -b alt -m mutex -D 0 "
				 "-d /nonexistent 2>/dev/null", prog("bank-bench"));
		else if (!ends[i].sig)
			snprintf(cmd, sizeof(cmd), "%s -b transfer -m mutex -D 0 "
				 "-w 2 -S 1 -t 50 -W 0 >/dev/null",
				 prog("bank-bench"));
		else
			snprintf(cmd, sizeof(cmd), "%s -b transfer -m atomic -D 1 "
				 "-w 2 -S 60 -t 200 >/dev/null & p=$!; sleep 1; "
				 "kill -%s $p; wait $p", prog("bank-bench"),
				 ends[i].sig);
		EXPECT_EQ(run(cmd), want);
		ASSERT_EQ(bank_param_read("lock", buf, sizeof(buf)), 0);
		EXPECT_TRUE(strcmp(buf, "spinlock") == 0);
		ASSERT_EQ(bank_param_read("delay_us", buf, sizeof(buf)), 0);
		EXPECT_TRUE(strcmp(buf, "3") == 0);
		expect_accounts_unchanged(&before);
	}
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
}

/*
 * The same tests, as 32-bit processes (i386 on amd64, armhf on arm64):
 * every ioctl through .compat_ioctl.
 * The suite's programs built 32-bit sit beside the others, named
 * suite-TOPIC32.
 */
TEST_TIMEOUT(compat_32bit_client, 120)
{
	static const char *const runs[][2] = {
		{ "suite-ioctls32", "deposit_withdraw amount_not deposit_past "
		  "readonly unknown_command bad_pointers batch sysfs" },
		{ "suite-wait32", "nonblock" },
		{ "suite-transfer32", "transfer_errors" },
	};
	char cmd[PATH_MAX + 256];
	unsigned int i;

	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		if (access(prog(runs[i][0]), X_OK) != 0)
			SKIP("no 32-bit build of the suite (amd64: no gcc-multilib; arm64: no gcc-arm-linux-gnueabihf)");
	/* Not every /bin/sh has pipefail (Debian's dash): the status by hand. */
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		snprintf(cmd, sizeof(cmd), "out=$(%s %s); rc=$?; printf '%%s\\n' "
			 "\"$out\" | sed 's/^/    /'; exit $rc", prog(runs[i][0]),
			 runs[i][1]);
		EXPECT_EQ(run(cmd), 0);
	}
}

TEST_TIMEOUT(python_notebook_port, 120)
{
	char cmd[PATH_MAX + 256];
	const char *repo = getenv("KBANK_REPO");
	/* "chroot /host /usr/bin/python3" in the VM, "python3" natively. */
	const char *python = getenv("KBANK_PYTHON");

	if (!repo || !python || !*python)
		SKIP("no python3 here (in the VM: none over 9p)");
	setup("mutex", 0);
	snprintf(cmd, sizeof(cmd),
		 "%s %s/userspace/python/notebook.py --sleep 0.001 | tail -n 1 | grep -qx 200",
		 python, repo);
	EXPECT_EQ(run(cmd), 0);
	EXPECT_EQ(get_stats().deposits, 100);
	EXPECT_EQ(get_stats().withdrawals, 100);
}

SUITE_MAIN("suite-programs: the programs, 32-bit clients and the Python port.")
