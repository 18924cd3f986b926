// SPDX-License-Identifier: GPL-2.0
/*
 * suite-modes: the lesson itself: the lock modes under concurrent updates
 * (exact counts, contention, no overdraft, lost updates in none, the
 * notebook's numbers), and under attack (resets racing updates, signals, a
 * long delay in the critical section).
 *
 * suite-modes --help: how to run it.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

TEST_F_TIMEOUT(locked_mode, locked_modes_exact_4x100000, 600)
{
	struct bank_stats st;

	setup(variant->lock, 1000);
	hammer(4, 100000, 0);
	st = get_stats();
	TH_LOG("%-8s 4 x 100000 ops: balance %lld expected %lld contended %llu",
	       variant->lock, (long long)st.balance,
	       (long long)st.expected, (unsigned long long)st.contended);
	EXPECT_EQ(st.balance, 1000);
	EXPECT_EQ(st.expected, st.balance);
	EXPECT_EQ(st.deposits, 200000);
	EXPECT_EQ(st.withdrawals, 200000);
}

TEST_F_TIMEOUT(locked_mode, locked_modes_exact_and_contended_with_delay, 300)
{
	struct bank_stats st;

	setup(variant->lock, 1000);
	ASSERT_EQ(bank_param_write("delay_us", "20"), 0);
	hammer(4, 2000, 0);
	st = get_stats();
	TH_LOG("%-8s delay_us=20, 4 x 2000 ops: balance %lld expected %lld contended %llu",
	       variant->lock, (long long)st.balance,
	       (long long)st.expected, (unsigned long long)st.contended);
	EXPECT_EQ(st.balance, 1000);
	EXPECT_EQ(st.expected, st.balance);
	/* The lock was really fought over, or this proves nothing. */
	EXPECT_TRUE(st.contended > 0);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
}

TEST_F_TIMEOUT(locked_mode, locked_modes_never_overdraw, 300)
{
	struct bank_stats st;
	int i, status;

	setup(variant->lock, 1000);
	ASSERT_EQ(bank_param_write("delay_us", "5"), 0);
	/* 4 processes try 500 non-blocking withdrawals each of 1000. */
	for (i = 0; i < 4; i++) {
		pid_t pid = fork();

		ASSERT_TRUE(pid >= 0);
		if (pid == 0) {
			int fd = dev_open(O_RDWR | O_NONBLOCK), j;

			for (j = 0; j < 500; j++) {
				int e = op(fd, BANK_IOC_WITHDRAW, 1, NULL);

				if (e && e != EAGAIN)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++) {
		ASSERT_TRUE(wait(&status) > 0);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	st = get_stats();
	EXPECT_EQ(st.balance, 0);
	EXPECT_EQ(st.withdrawals, 1000);
	EXPECT_EQ(st.expected, 0);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
}

/* @procs processes each deposit 1, @ops times; fails the test if one fails. */
static void depositors(int procs, long ops)
{
	int i, status;

	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		ASSERT_TRUE(pid >= 0);
		if (pid == 0) {
			int fd = dev_open(O_RDWR);
			long j;

			for (j = 0; j < ops; j++)
				if (op(fd, BANK_IOC_DEPOSIT, 1, NULL))
					_exit(1);
			_exit(0);
		}
	}
	for (i = 0; i < procs; i++) {
		ASSERT_TRUE(wait(&status) > 0);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

TEST_TIMEOUT(none_loses_updates, 300)
{
	struct bank_stats st;
	int attempt;

	/*
	 * Two processes deposit 1, 2000 times each, with a window of 50 us
	 * between read and write back. Only deposits: a lost deposit and a
	 * lost withdrawal would cancel out in the balance. The kernel's exact
	 * count must disagree with the balance. Measured: a few attempts, in
	 * case the scheduler happens to run the two one after the other.
	 */
	for (attempt = 1; attempt <= 3; attempt++) {
		setup("none", 100000);
		ASSERT_EQ(bank_param_write("delay_us", "50"), 0);
		depositors(2, 2000);
		st = get_stats();
		TH_LOG("attempt %d: balance %lld, expected %lld: %lld deposits lost",
		       attempt, (long long)st.balance, (long long)st.expected,
		       (long long)(st.expected - st.balance));
		if (st.balance != st.expected)
			break;
	}
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
	EXPECT_TRUE(st.balance < st.expected);
	EXPECT_EQ(st.deposits, 4000);
}

TEST_F_TIMEOUT(lock_mode, notebook_defaults_end_at_200, 300)
{
	char cmd[PATH_MAX + 128];
	struct bank_stats st;

	/* The notebook: 100 x (sleep 10 ms, +-1) on each side, from 200. */
	setup(variant->lock, 200);
	snprintf(cmd, sizeof(cmd), "%s -q & ", prog("deposit"));
	snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd),
		 "%s -q & wait", prog("withdraw"));
	EXPECT_EQ(run(cmd), 0);
	st = get_stats();
	TH_LOG("%-8s final %lld, expected %lld", variant->lock,
	       (long long)st.balance, (long long)st.expected);
	EXPECT_EQ(st.deposits, 100);
	EXPECT_EQ(st.withdrawals, 100);
	if (strcmp(variant->lock, "none") != 0) {
		EXPECT_EQ(st.balance, 200);
		EXPECT_EQ(st.expected, 200);
	}
}

/* ---- the core under attack ------------------------------------------- */

/* A child that resets the balance in a loop until killed. */
static pid_t resetter(void)
{
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		int fd = dev_open(O_RDWR);
		int64_t v;

		/* Never the same value twice in a row: no ABA. */
		for (v = 0;; v++) {
			int64_t b = 1000 + v % 1000000;

			ioctl(fd, BANK_IOC_SET_BALANCE, &b);
		}
	}
	return pid;
}

/*
 * Mode atomic, delay_us=10000, another process resetting the balance as
 * fast as it can: a deposit must still finish, and SIGKILL must end a
 * depositor at once. A compare-and-swap loop that redoes the delay on
 * every retry never wins: 28 s in the kernel, a soft lockup.
 */
TEST_TIMEOUT(atomic_update_not_starved_by_resets, 120)
{
	pid_t reset_pid, pid;
	long long t0;
	int status;

	setup("atomic", 1000);
	ASSERT_EQ(bank_param_write("delay_us", "10000"), 0);
	reset_pid = resetter();
	sleep_ms(100);

	/* One deposit, timed. */
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0)
		_exit(op(dev_open(O_RDWR), BANK_IOC_DEPOSIT, 1, NULL));
	t0 = now_ms();
	/* The old loop never won while the resets went on: any bound tells. */
	status = wait_bounded(pid, 10000);
	TH_LOG("one deposit against the resets: %lld ms", now_ms() - t0);
	EXPECT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* A depositor in a loop, killed: gone within a second. */
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		int fd = dev_open(O_RDWR);

		for (;;)
			op(fd, BANK_IOC_DEPOSIT, 1, NULL);
	}
	sleep_ms(300);
	ASSERT_EQ(kill(pid, SIGKILL), 0);
	t0 = now_ms();
	status = wait_bounded(pid, 1000);
	TH_LOG("SIGKILL took %lld ms", now_ms() - t0);
	EXPECT_TRUE(status != -1 && WIFSIGNALED(status));

	kill(reset_pid, SIGKILL);
	waitpid(reset_pid, NULL, 0);
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
}

struct reset_race {
	pthread_barrier_t start, stop;
	atomic_int reset_done;
	int fd;
	int rounds;
};

/* Deposits without a pause until the round's reset is done, and 2 after. */
static void *reset_race_depositor(void *arg)
{
	struct reset_race *r = arg;
	int i;

	for (i = 0; i < r->rounds; i++) {
		pthread_barrier_wait(&r->start);
		while (!atomic_load(&r->reset_done))
			op(r->fd, BANK_IOC_DEPOSIT, 1, NULL);
		op(r->fd, BANK_IOC_DEPOSIT, 1, NULL);
		op(r->fd, BANK_IOC_DEPOSIT, 1, NULL);
		pthread_barrier_wait(&r->stop);
	}
	return NULL;
}

/* One reset per round, at a varying moment among the deposits. */
static void *reset_race_resetter(void *arg)
{
	struct reset_race *r = arg;
	int i;

	for (i = 0; i < r->rounds; i++) {
		int64_t b = 1000 + i % 7;
		volatile int spin;

		pthread_barrier_wait(&r->start);
		for (spin = 0; spin < (i * 37) % 2000; spin++)
			;
		ioctl(r->fd, BANK_IOC_SET_BALANCE, &b);
		atomic_store(&r->reset_done, 1);
		pthread_barrier_wait(&r->stop);
	}
	return NULL;
}

/*
 * A reset lands among a stream of deposits; then everything stops and
 * expected must equal the balance, in each locked mode. The race it
 * catches: in mode atomic, a reset that falls between a deposit's
 * compare-and-swap and its accounting (1 round in 70 unequal, measured).
 */
TEST_F_TIMEOUT(locked_mode, reset_racing_updates_keeps_expected, 600)
{
	/* lockdep and KCSAN slow every call down: fewer rounds there. */
	struct reset_race r = {
		.rounds = access("/proc/lockdep", F_OK) == 0 ? 2000 : 20000,
	};
	pthread_t dep, res;
	long unequal = 0;
	int i;

	setup(variant->lock, 1000);
	r.fd = dev_open(O_RDWR);
	ASSERT_EQ(pthread_barrier_init(&r.start, NULL, 3), 0);
	ASSERT_EQ(pthread_barrier_init(&r.stop, NULL, 3), 0);
	ASSERT_EQ(pthread_create(&dep, NULL, reset_race_depositor, &r), 0);
	ASSERT_EQ(pthread_create(&res, NULL, reset_race_resetter, &r), 0);
	for (i = 0; i < r.rounds; i++) {
		struct bank_stats st;

		pthread_barrier_wait(&r.start);
		pthread_barrier_wait(&r.stop);
		atomic_store(&r.reset_done, 0);
		memset(&st, 0, sizeof(st));
		ASSERT_EQ(ioctl(r.fd, BANK_IOC_GET_STATS, &st), 0);
		if (st.balance != st.expected && !unequal++)
			TH_LOG("%s: round %d: balance %lld, expected %lld",
			       variant->lock, i, (long long)st.balance,
			       (long long)st.expected);
	}
	pthread_join(dep, NULL);
	pthread_join(res, NULL);
	close(r.fd);
	TH_LOG("%-8s %d rounds of a reset among deposits: %ld unequal",
	       variant->lock, r.rounds, unequal);
	EXPECT_EQ(unequal, 0);
}

static volatile sig_atomic_t signals_seen;

static void count_signal(int sig)
{
	(void)sig;
	signals_seen++;
}

/*
 * Mode mutex with holders that sleep 10 ms each: a waiter for the mutex
 * must be interruptible (mutex_lock() would leave it in state D), and a call
 * that a signal ended must have changed nothing.
 */
TEST_TIMEOUT(mutex_waiters_interruptible, 120)
{
	struct sigaction sa = { .sa_handler = count_signal };
	struct bank_stats st;
	pid_t holders[3], pid;
	int pipefd[2], i, status;
	long res[2] = { 0, 0 };

	setup("mutex", 1000);
	ASSERT_EQ(bank_param_write("delay_us", "10000"), 0);
	for (i = 0; i < 3; i++) {
		holders[i] = fork();
		ASSERT_TRUE(holders[i] >= 0);
		if (holders[i] == 0) {
			int fd = dev_open(O_RDWR);

			for (;;)
				op(fd, BANK_IOC_DEPOSIT, 1, NULL);
		}
	}
	ASSERT_EQ(pipe(pipefd), 0);
	/* Installed before fork(): the first signal may come at once. */
	ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);	/* no SA_RESTART */
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		int fd = dev_open(O_RDWR);
		long done = 0, eintr = 0;

		while (signals_seen < 10) {
			int e = op(fd, BANK_IOC_DEPOSIT, 1000000, NULL);

			if (!e)
				done++;
			else if (e == EINTR)
				eintr++;
			else
				_exit(1);
		}
		res[0] = done;
		res[1] = eintr;
		if (write(pipefd[1], res, sizeof(res)) != sizeof(res))
			_exit(1);
		_exit(0);
	}
	close(pipefd[1]);
	/* Signals until it has seen 10 (some coalesce), for up to 10 s. */
	for (i = 0; i < 400; i++) {
		kill(pid, SIGUSR1);
		status = wait_bounded(pid, 25);
		if (status != -1)
			break;
	}
	EXPECT_TRUE(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	EXPECT_EQ(read(pipefd[0], res, sizeof(res)), (ssize_t)sizeof(res));
	close(pipefd[0]);
	for (i = 0; i < 3; i++) {
		kill(holders[i], SIGKILL);
		waitpid(holders[i], NULL, 0);
	}
	if (status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	st = get_stats();
	TH_LOG("signalled depositor: %ld done, %ld ended by EINTR", res[0], res[1]);
	EXPECT_TRUE(res[1] > 0);
	/* Each million came from that depositor's successful calls only. */
	EXPECT_EQ(st.balance / 1000000, res[0]);
	EXPECT_EQ(st.expected, st.balance);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
}

struct timed_op {
	unsigned long cmd;
	int64_t amount;
	int flags;
	int err;
	atomic_int tid;		/* set just before the call */
};

static void *timed_op_thread(void *arg)
{
	struct timed_op *t = arg;
	int fd = dev_open(O_RDWR | t->flags);

	atomic_store(&t->tid, (int)syscall(SYS_gettid));
	t->err = op(fd, t->cmd, t->amount, NULL);
	close(fd);
	return NULL;
}

/*
 * Wait, at most 5 s, until thread @tid sleeps uninterruptibly (state D):
 * in the kernel's delay_us, once it has read the balance. Returns 0 then.
 */
static int wait_in_delay(const struct timed_op *t)
{
	char path[64], buf[256], *p;
	int i;

	for (i = 0; i < 5000; i++) {
		int tid = atomic_load(&t->tid);
		FILE *f;

		if (tid) {
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
			f = fopen(path, "r");
			p = f && fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
			if (f)
				fclose(f);
			if (p && p[1] == ' ' && p[2] == 'D')
				return 0;
		}
		sleep_ms(1);
	}
	return -1;
}

/*
 * Mode atomic, delay_us=10000, balance 0. A deposit of 10 reads 0 and
 * sleeps its delay; once it does (its thread in state D), and 8 ms later,
 * a non-blocking withdrawal of 5 starts: it reads 0, or 10 if the deposit
 * has landed, and decides a delay later, when the balance is 10. It must
 * succeed: an overdraft is refused on the value that is there when it is
 * decided, not on the one read before the delay. The order comes from
 * what the deposit's thread is doing, not from the threads' start times,
 * which a loaded machine delays by more than a delay.
 */
TEST(atomic_refuses_on_the_value_really_there)
{
	struct timed_op dep = { BANK_IOC_DEPOSIT, 10, 0, -1, 0 };
	struct timed_op wd = { BANK_IOC_WITHDRAW, 5, O_NONBLOCK, -1, 0 };
	struct bank_stats st;
	pthread_t t1, t2;
	int in_delay;

	setup("atomic", 0);
	ASSERT_EQ(bank_param_write("delay_us", "10000"), 0);
	ASSERT_EQ(pthread_create(&t1, NULL, timed_op_thread, &dep), 0);
	in_delay = wait_in_delay(&dep);
	sleep_ms(8);
	ASSERT_EQ(pthread_create(&t2, NULL, timed_op_thread, &wd), 0);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	EXPECT_EQ(in_delay, 0);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
	st = get_stats();
	TH_LOG("deposit: %s, withdrawal: %s, balance %lld",
	       dep.err ? strerror(dep.err) : "ok", wd.err ? strerror(wd.err) : "ok",
	       (long long)st.balance);
	EXPECT_EQ(dep.err, 0);
	EXPECT_EQ(wd.err, 0);
	EXPECT_EQ(st.balance, 5);
	EXPECT_EQ(st.expected, 5);
}

SUITE_MAIN("suite-modes: the lock modes under concurrent updates.")
