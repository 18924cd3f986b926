// SPDX-License-Identifier: GPL-2.0
/*
 * suite-statement: statements (BANK_IOC_GET_ACCOUNTS) read while transfers
 * run, under each strategy of the parameter "statement" and each lock
 * mode it works with: no torn statement, as the program and the kernel
 * judge it, except with strategy none, where one is seen; the parameter
 * refused while the device is open and with lock modes it cannot work
 * with; the RCU copy following deposits; the seqlock's retries counted.
 *
 * suite-statement --help: how to run it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* Every strategy that must never tear, in each lock mode it works with. */
FIXTURE(whole);
FIXTURE_VARIANT(whole) {
	const char *statement;
	const char *lock;
	const char *delay_us;
};
FIXTURE_VARIANT_ADD(whole, locks_spinlock) { "locks", "spinlock", "0" };
FIXTURE_VARIANT_ADD(whole, locks_mutex) { "locks", "mutex", "0" };
FIXTURE_VARIANT_ADD(whole, rwlock_spinlock) { "rwlock", "spinlock", "0" };
FIXTURE_VARIANT_ADD(whole, rwlock_mutex) { "rwlock", "mutex", "0" };
FIXTURE_VARIANT_ADD(whole, rwsem_spinlock) { "rwsem", "spinlock", "0" };
FIXTURE_VARIANT_ADD(whole, rwsem_mutex) { "rwsem", "mutex", "0" };
/* seqlock: delay_us widens each lockless pass, so that transfers land in it. */
FIXTURE_VARIANT_ADD(whole, seqlock_spinlock) { "seqlock", "spinlock", "200" };
FIXTURE_VARIANT_ADD(whole, seqlock_mutex) { "seqlock", "mutex", "200" };
FIXTURE_VARIANT_ADD(whole, rcu_spinlock) { "rcu", "spinlock", "0" };
FIXTURE_VARIANT_ADD(whole, rcu_mutex) { "rcu", "mutex", "0" };

/* Lock mode @lock, strategy @statement, delay_us @delay_us; nothing open. */
static void use(const char *statement, const char *lock, const char *delay_us)
{
	char buf[32];

	/* locks first: it goes with every mode, so the mode can change. */
	ASSERT_EQ(bank_param_write("statement", "locks"), 0);
	ASSERT_EQ(bank_param_write("lock", lock), 0);
	ASSERT_EQ(bank_param_write("statement", statement), 0);
	ASSERT_EQ(bank_param_write("delay_us", delay_us), 0);
	ASSERT_EQ(bank_param_read("statement", buf, sizeof(buf)), 0);
	ASSERT_TRUE(strcmp(buf, statement) == 0);
}

static struct bank_readers get_readers(void)
{
	struct bank_readers r;
	int fd = dev_open(O_RDONLY);

	memset(&r, 0xff, sizeof(r));
	ASSERT_EQ(ioctl(fd, BANK_IOC_GET_READERS, &r), 0);
	close(fd);
	return r;
}

static long long accounts_total_now(void)
{
	struct bank_accounts all = get_accounts();

	return accounts_total(&all);
}

/* What the readers of run_readers() saw. */
struct seen {
	long statements;
	long torn;		/* whose total was not the bank's */
	long transfers;
};

/*
 * @transferrers processes move money between random accounts and @readers
 * processes take statements, for @ms milliseconds; every statement's total
 * is compared with @total, the bank's, constant while only transfers run.
 */
static struct seen run_readers(int readers, int transferrers, long ms,
			       long long total)
{
	uint32_t n = get_accounts().count;
	struct seen seen = { 0 }, one;
	int pipefd[2], i, status;

	ASSERT_TRUE(n >= 2);
	ASSERT_EQ(pipe(pipefd), 0);
	for (i = 0; i < readers + transferrers; i++) {
		pid_t pid = fork();

		ASSERT_TRUE(pid >= 0);
		if (pid == 0) {
			int fd = dev_open(i < readers ? O_RDONLY : O_RDWR);
			long long end = now_ms() + ms;
			struct bank_accounts all;

			memset(&one, 0, sizeof(one));
			srandom(getpid());
			while (now_ms() < end) {
				if (i < readers) {
					memset(&all, 0, sizeof(all));
					if (ioctl(fd, BANK_IOC_GET_ACCOUNTS, &all))
						_exit(1);
					one.statements++;
					if (accounts_total(&all) != total)
						one.torn++;
				} else {
					uint32_t from = random() % n;
					uint32_t to = (from + 1 + random() % (n - 1)) % n;
					int e = xfer(fd, from, to, 1 + random() % 20, NULL);

					if (e && e != EAGAIN)
						_exit(1);
					one.transfers += !e;
				}
			}
			if (write(pipefd[1], &one, sizeof(one)) != sizeof(one))
				_exit(1);
			_exit(0);
		}
	}
	close(pipefd[1]);
	for (i = 0; i < readers + transferrers; i++) {
		ASSERT_TRUE(wait(&status) > 0);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	while (read(pipefd[0], &one, sizeof(one)) == sizeof(one)) {
		seen.statements += one.statements;
		seen.torn += one.torn;
		seen.transfers += one.transfers;
	}
	close(pipefd[0]);
	return seen;
}

TEST_F_TIMEOUT(whole, no_torn_statement_while_transfers_run, 120)
{
	struct bank_readers r;
	long long total;
	struct seen seen;

	reload("accounts=8");
	use(variant->statement, variant->lock, variant->delay_us);
	total = accounts_total_now();
	seen = run_readers(2, 2, 2000, total);
	r = get_readers();
	TH_LOG("statement=%s lock=%s: %ld statements, %ld transfers, torn %ld (kernel: %llu of %llu), retries %llu, fallbacks %llu, copies %llu",
	       variant->statement, variant->lock, seen.statements,
	       seen.transfers, seen.torn, (unsigned long long)r.torn,
	       (unsigned long long)r.statements,
	       (unsigned long long)r.retries, (unsigned long long)r.fallbacks,
	       (unsigned long long)r.copies);
	/* Both sides ran, or this proves nothing. */
	EXPECT_TRUE(seen.statements > 0);
	EXPECT_TRUE(seen.transfers > 0);
	EXPECT_EQ(seen.torn, 0);
	EXPECT_EQ(r.torn, 0);
	EXPECT_TRUE(r.statements >= (uint64_t)seen.statements);
	EXPECT_TRUE(strcmp(bank_statement_name(r.statement), variant->statement) == 0);
	EXPECT_EQ(accounts_total_now(), total);
	if (strcmp(variant->statement, "seqlock") == 0)
		EXPECT_TRUE(r.retries > 0);
	else
		EXPECT_EQ(r.retries, 0);
	if (strcmp(variant->statement, "rcu") == 0)
		EXPECT_TRUE(r.copies >= (uint64_t)seen.transfers);
	reload("");
}

TEST_TIMEOUT(none_tears_statements, 120)
{
	struct bank_readers r;
	long long total;
	struct seen seen;

	reload("accounts=8");
	/* delay_us: each statement sleeps halfway, and transfers run meanwhile. */
	use("none", "mutex", "500");
	total = accounts_total_now();
	seen = run_readers(2, 2, 3000, total);
	r = get_readers();
	TH_LOG("statement=none lock=mutex delay_us=500: %ld statements, %ld transfers, torn %ld (kernel: %llu of %llu)",
	       seen.statements, seen.transfers, seen.torn,
	       (unsigned long long)r.torn, (unsigned long long)r.statements);
	EXPECT_TRUE(seen.transfers > 0);
	/* The transfers themselves stay whole: the money is all there. */
	EXPECT_EQ(accounts_total_now(), total);
	reload("");
	if (seen.torn == 0 && r.torn == 0)
		SKIP("no torn statement seen in 3 s (%ld statements, %ld transfers): the readers and transfers never overlapped",
		     seen.statements, seen.transfers);
	EXPECT_TRUE(seen.torn > 0);
	EXPECT_TRUE(r.torn > 0);
}

#define TRACEFS "/sys/kernel/tracing"

/* The statement's events in the trace: begin, retry, end, and ends TORN. */
struct traced {
	long begin, retry, end, torn;
};

/* Record the bank_statement_* events while run_readers() runs. */
static struct traced trace_readers(long ms, struct seen *seen)
{
	struct traced tr = { 0 };
	char line[512];
	FILE *f;

	ASSERT_EQ(run("echo 0 > " TRACEFS "/tracing_on && echo > " TRACEFS "/trace && "
		      "echo 1 > " TRACEFS "/events/bank/bank_statement_begin/enable && "
		      "echo 1 > " TRACEFS "/events/bank/bank_statement_retry/enable && "
		      "echo 1 > " TRACEFS "/events/bank/bank_statement_end/enable && "
		      "echo 1 > " TRACEFS "/tracing_on"), 0);
	*seen = run_readers(1, 2, ms, accounts_total_now());
	ASSERT_EQ(run("echo 0 > " TRACEFS "/tracing_on && "
		      "echo 0 > " TRACEFS "/events/bank/enable"), 0);
	f = fopen(TRACEFS "/trace", "r");
	ASSERT_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		tr.begin += strstr(line, ": bank_statement_begin:") != NULL;
		tr.retry += strstr(line, ": bank_statement_retry:") != NULL;
		if (strstr(line, ": bank_statement_end:")) {
			tr.end++;
			tr.torn += strstr(line, " TORN") != NULL;
		}
	}
	fclose(f);
	ASSERT_EQ(run("echo > " TRACEFS "/trace && echo 1 > " TRACEFS "/tracing_on"), 0);
	return tr;
}

/*
 * The events of a statement, against the kernel's counters: a seqlock
 * reader's retries, and the torn statements of strategy none. Switching
 * events patches code live: only in make check's VM (see suite-trace).
 */
TEST_TIMEOUT(statement_traced_begin_retry_end, 120)
{
	const char *k = getenv("KBANK_KERNEL");
	struct bank_readers r;
	struct traced tr;
	struct seen seen;

	if (access(TRACEFS "/events/bank/bank_statement_end", F_OK) != 0)
		SKIP("no bank events in %s (kernel without tracepoints?)", TRACEFS);
	if (k && strcmp(k, "stock") && strcmp(k, "6.1"))
		SKIP("events are switched on and off only in make check's VM, not on %s", k);
	reload("accounts=8");
	use("seqlock", "mutex", "200");
	tr = trace_readers(1000, &seen);
	r = get_readers();
	TH_LOG("seqlock: %ld statements, traced %ld begin, %ld retry, %ld end; kernel: %llu retries",
	       seen.statements, tr.begin, tr.retry, tr.end,
	       (unsigned long long)r.retries);
	EXPECT_TRUE(seen.statements > 0);
	/* The harness's own statement before the run is traced too. */
	EXPECT_EQ(tr.begin, (long)r.statements);
	EXPECT_EQ(tr.end, (long)r.statements);
	EXPECT_EQ(tr.retry, (long)r.retries);
	EXPECT_TRUE(tr.retry > 0);
	EXPECT_EQ(tr.torn, 0);

	use("none", "mutex", "500");
	tr = trace_readers(1500, &seen);
	r = get_readers();
	TH_LOG("none: %ld statements, %ld torn by their totals; traced %ld end, %ld TORN; kernel: %llu torn",
	       seen.statements, seen.torn, tr.end, tr.torn,
	       (unsigned long long)r.torn);
	EXPECT_EQ(tr.end, (long)r.statements);
	EXPECT_EQ(tr.torn, (long)r.torn);
	reload("");
}

TEST(statement_refused_while_open)
{
	char buf[32];
	int fd;

	ASSERT_EQ(bank_param_write("statement", "locks"), 0);
	fd = dev_open(O_RDONLY);
	EXPECT_ERRNO(bank_param_write("statement", "seqlock"), EBUSY);
	close(fd);
	ASSERT_EQ(bank_param_read("statement", buf, sizeof(buf)), 0);
	EXPECT_TRUE(strcmp(buf, "locks") == 0);
	EXPECT_EQ(bank_param_write("statement", "seqlock"), 0);
	EXPECT_EQ(bank_param_write("statement", "locks"), 0);
	EXPECT_ERRNO(bank_param_write("statement", "rwspin"), EINVAL);
}

TEST(statement_refused_with_modes_without_a_writer_side)
{
	static const char *const needs_lock[] = { "rwlock", "rwsem", "seqlock", "rcu" };
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(needs_lock) / sizeof(needs_lock[0]); i++) {
		use("locks", "none", "0");
		EXPECT_ERRNO(bank_param_write("statement", needs_lock[i]), EINVAL);
		use("locks", "atomic", "0");
		EXPECT_ERRNO(bank_param_write("statement", needs_lock[i]), EINVAL);
		/* ...and the other way round: the mode refused, not changed. */
		use(needs_lock[i], "mutex", "0");
		EXPECT_ERRNO(bank_param_write("lock", "atomic"), EINVAL);
		EXPECT_ERRNO(bank_param_write("lock", "none"), EINVAL);
		EXPECT_EQ(bank_param_write("lock", "spinlock"), 0);
		ASSERT_EQ(bank_param_read("lock", buf, sizeof(buf)), 0);
		EXPECT_TRUE(strcmp(buf, "spinlock") == 0);
	}
	/* Strategies locks and none go with every mode. */
	use("none", "atomic", "0");
	use("none", "none", "0");
	use("locks", "mutex", "0");
	/* The kernel log says why, in the module's words. */
	{
		static char log[1 << 17];
		int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log) - 1);

		ASSERT_TRUE(n > 0);
		log[n] = '\0';
		EXPECT_TRUE(strstr(log, "bank: statement=rcu: refused with lock=atomic: its transfers move money in two steps, with no lock over both; use statement=locks or none") != NULL);
		EXPECT_TRUE(strstr(log, "bank: statement=seqlock: refused with lock=none: its transfers hold no lock, so they have no writer side to take; use statement=locks or none") != NULL);
		EXPECT_TRUE(strstr(log, "bank: lock=atomic: refused with statement=rcu: its transfers move money in two steps, with no lock over both; set statement=locks or none first") != NULL);
	}
	/* At load, in either order. */
	EXPECT_EQ(mod_unload(), 0);
	EXPECT_EQ(mod_load("statement=rcu lock=atomic"), EINVAL);
	EXPECT_EQ(mod_load("lock=none statement=seqlock"), EINVAL);
	EXPECT_EQ(mod_load("lock=spinlock statement=rcu"), 0);
	ASSERT_EQ(bank_param_read("statement", buf, sizeof(buf)), 0);
	EXPECT_TRUE(strcmp(buf, "rcu") == 0);
	reload("");
}

/*
 * Interest (interest.c) pays into every account, from a timer: statements
 * still add up under statement=locks, the payer counting its payments
 * into accounts 1 and up as a transfer does (in mode atomic, under its
 * own lock, which the statement takes too); and the strategies whose
 * writer side the payer does not take are refused with it, both ways
 * round. Then, with the payer stopped but its context still softirq, a
 * strategy with locks of its own runs: on the debug kernel, lockdep must
 * not judge them against the payer that can no longer come.
 */
TEST_TIMEOUT(statements_add_up_while_interest_is_paid, 180)
{
	static const char *const locks[] = { "spinlock", "atomic" };
	struct bank_readers before, after;
	struct bank_accounts first, all;
	int64_t b;
	size_t m;
	int i, fd;

	for (m = 0; m < sizeof(locks) / sizeof(locks[0]); m++) {
		use("locks", "spinlock", "0");
		ASSERT_EQ(bank_param_write("statement", "seqlock"), 0);
		EXPECT_ERRNO(bank_param_write("interest_ms", "1"), EINVAL);
		use("locks", locks[m], "0");
		ASSERT_EQ(bank_param_write("interest_ctx", "softirq"), 0);
		ASSERT_EQ(bank_param_write("interest_ms", "1"), 0);
		EXPECT_ERRNO(bank_param_write("statement", "rcu"), EINVAL);
		EXPECT_ERRNO(bank_param_write("statement", "rwsem"), EINVAL);
		before = get_readers();
		first = get_accounts();
		for (i = 0; i < 2000; i++)
			all = get_accounts();
		after = get_readers();
		ASSERT_EQ(bank_param_write("interest_ms", "0"), 0);
		TH_LOG("lock=%s, 2001 statements: account 1 from %lld to %lld, torn %llu",
		       locks[m], (long long)first.balances[1], (long long)all.balances[1],
		       (unsigned long long)(after.torn - before.torn));
		/* The payer ran meanwhile, into account 1 too. */
		EXPECT_TRUE(all.balances[1] > first.balances[1]);
		EXPECT_EQ(after.torn - before.torn, 0);
		EXPECT_EQ(after.statements - before.statements, 2001);
	}
	/* interest_ctx still softirq, no payer: rcu's own locks, no report. */
	use("rcu", "spinlock", "0");
	fd = dev_open(O_RDWR);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 5, &b), 0);
	EXPECT_EQ(xfer(fd, 0, 1, 3, NULL), 0);
	close(fd);
	use("locks", "spinlock", "0");
	ASSERT_EQ(bank_param_write("interest_ctx", "workqueue"), 0);
}

TEST(rcu_copy_follows_deposits_and_resets)
{
	struct bank_readers before, after;
	int64_t balance = 500;
	int fd;

	reload("");
	use("rcu", "mutex", "0");
	before = get_readers();
	fd = dev_open(O_RDWR);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 7, NULL), 0);
	EXPECT_EQ(get_accounts().balances[0], 207);
	EXPECT_EQ(op(fd, BANK_IOC_WITHDRAW, 7, NULL), 0);
	EXPECT_EQ(get_accounts().balances[0], 200);
	EXPECT_EQ(ioctl(fd, BANK_IOC_SET_BALANCE, &balance), 0);
	EXPECT_EQ(get_accounts().balances[0], 500);
	EXPECT_EQ(xfer(fd, 0, 3, 100, NULL), 0);
	EXPECT_EQ(get_accounts().balances[0], 400);
	EXPECT_EQ(get_accounts().balances[3], 300);
	close(fd);
	after = get_readers();
	EXPECT_EQ(after.copies - before.copies, 4);
	EXPECT_EQ(after.statements - before.statements, 5);
	EXPECT_EQ(after.torn, 0);
	reload("");
}

TEST(readers_counters_reset_when_set)
{
	struct bank_readers r;

	use("rwlock", "mutex", "0");
	get_accounts();
	get_accounts();
	r = get_readers();
	EXPECT_EQ(r.statements, 2);
	EXPECT_EQ(r.statement, BANK_STATEMENT_RWLOCK);
	EXPECT_EQ(r.flags, 0);
	use("locks", "mutex", "0");
	r = get_readers();
	EXPECT_EQ(r.statements, 0);
	EXPECT_EQ(r.statement, BANK_STATEMENT_LOCKS);
}

SUITE_MAIN("suite-statement: statements read while transfers run, under each strategy of \"statement\"")
