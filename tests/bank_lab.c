// SPDX-License-Identifier: GPL-2.0
/*
 * bank_lab: the lab's examiner, in the guest. `bank_lab N` runs task N's
 * checks against the bank.ko loaded now (fresh, with its defaults) and
 * prints what it saw, one line each:
 *
 *   LAB-OBS pass <what was checked>
 *   LAB-OBS fail <what went wrong, in a student's words, and a hint>
 *
 * Exit status 0 if every check passed. The kernel log is judged on the host
 * (scripts/grade.sh): this program only looks at what a process can see.
 * Every wait is bounded: a process that hangs is killed and reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bank_client.h"

static int failures;

/* How long a task may take before it is reported and ended. */
#define LAB_TASK_SECS	240

static void obs(int ok, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void obs(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("LAB-OBS %s ", ok ? "pass" : "fail");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		failures++;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void on_alarm(int sig)
{
	static const char msg[] =
		"LAB-OBS fail this task did not finish: a call never returned: a lock never released?\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	kill(0, SIGKILL);
	_exit(1);
}

/* fork(); the child drops the task's alarm handler: its alarm ends it alone. */
static pid_t lab_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		signal(SIGALRM, SIG_DFL);
	return pid;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int dev(void)
{
	int fd = open(BANK_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		obs(0, "cannot open %s: %s", BANK_DEVICE, strerror(errno));
		exit(1);
	}
	return fd;
}

/* One ioctl on a fresh descriptor: 0 or its errno. */
static int call(unsigned long cmd, void *arg)
{
	int fd = dev(), ret = 0;

	if (ioctl(fd, cmd, arg) < 0)
		ret = errno;
	close(fd);
	return ret;
}

static int op(int fd, unsigned long cmd, int64_t amount)
{
	struct bank_op o = { .amount = amount };

	return ioctl(fd, cmd, &o) < 0 ? errno : 0;
}

static int64_t balance(void)
{
	int64_t b = -1;

	call(BANK_IOC_GET_BALANCE, &b);
	return b;
}

static int set_balance(int64_t b)
{
	return call(BANK_IOC_SET_BALANCE, &b);
}

/* Mode, delay and balance; false (reported) if the module refused. */
static int setup(const char *mode, const char *delay_us, int64_t start)
{
	if (bank_param_write("lock", mode) < 0 ||
	    bank_param_write("delay_us", delay_us) < 0) {
		obs(0, "lock=%s delay_us=%s refused with no descriptor open: %s",
		    mode, delay_us, strerror(errno));
		return 0;
	}
	if (set_balance(start)) {
		obs(0, "BANK_IOC_SET_BALANCE failed: %s", strerror(errno));
		return 0;
	}
	return 1;
}

/* Wait for @pid up to @ms: its exit code, -1 if killed, -2 if still running. */
static int reap(pid_t pid, long ms)
{
	int status;

	for (; ms >= 0; ms -= 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (ms)
			sleep_ms(10);
	}
	return -2;
}

static void kill_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * @procs processes, each @n operations @cmd of 1, nonblocking, within
 * @secs seconds. Returns how many succeeded, -1 if a process hung.
 */
static long hammer(int procs, long n, unsigned long cmd, unsigned int secs)
{
	int pipefd[2], i, hung = 0;
	pid_t pids[8];
	long total = 0, got;

	if (pipe(pipefd))
		return -1;
	for (i = 0; i < procs; i++) {
		pids[i] = lab_fork();
		if (pids[i] == 0) {
			int fd = open(BANK_DEVICE, O_RDWR | O_NONBLOCK);
			long k, ok = 0;

			alarm(secs);
			for (k = 0; fd >= 0 && k < n; k++)
				ok += op(fd, cmd, 1) == 0;
			if (write(pipefd[1], &ok, sizeof(ok)) != sizeof(ok))
				_exit(1);
			_exit(0);
		}
	}
	close(pipefd[1]);
	for (i = 0; i < procs; i++)
		if (reap(pids[i], (secs + 5) * 1000L) != 0)
			hung = 1;
	while (read(pipefd[0], &got, sizeof(got)) == sizeof(got))
		total += got;
	close(pipefd[0]);
	return hung ? -1 : total;
}

/* Deposits from two processes: every one must count. */
static void check_lost(const char *mode, const char *delay_us, long n,
		       const char *hint)
{
	long done;
	int64_t b;

	if (!setup(mode, delay_us, 0))
		return;
	done = hammer(2, n, BANK_IOC_DEPOSIT, 60);
	if (done < 0) {
		obs(0, "%s: deposits from 2 processes did not finish in 60 s: is the lock released on every path?",
		    mode);
		return;
	}
	b = balance();
	if (done != 2 * n)
		obs(0, "%s: %ld of %ld deposits failed", mode, 2 * n - done,
		    2 * n);
	else if (b != done)
		obs(0, "%s: %lld of %ld updates lost: %s", mode,
		    (long long)(done - b), done, hint);
	else
		obs(1, "%s: %ld deposits from 2 processes, none lost", mode,
		    done);
}

/* A refused request must leave the lock free for the next one: 1 if so. */
static int check_error_path(const char *mode)
{
	pid_t pid;
	int fd, rc;

	if (!setup(mode, "0", 10))
		return 0;
	fd = open(BANK_DEVICE, O_RDWR | O_NONBLOCK);
	rc = op(fd, BANK_IOC_WITHDRAW, 100);
	close(fd);
	if (rc != EAGAIN) {
		obs(0, "%s: a nonblocking withdrawal of 100 from 10 gave %s, not EAGAIN",
		    mode, rc ? strerror(rc) : "success");
		return 0;
	}
	pid = lab_fork();
	if (pid == 0) {
		alarm(5);
		fd = dev();
		_exit(op(fd, BANK_IOC_DEPOSIT, 1));
	}
	rc = reap(pid, 8000);
	if (rc == 0)
		obs(1, "%s: a refused withdrawal leaves the lock free", mode);
	else if (rc == -1 || rc == -2)
		obs(0, "%s: after a refused withdrawal (EAGAIN) the next deposit waited forever: an error path skips the unlock",
		    mode);
	else
		obs(0, "%s: after a refused withdrawal the next deposit failed: %s",
		    mode, strerror(rc));
	if (rc == -2)
		kill_reap(pid);
	return rc == 0;
}

/* Does the kernel log (this task's: lab.sh clears it) say @what? */
static int kernel_log_has(const char *what)
{
	static char log[1 << 20];
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log) - 1);

	if (n < 0)
		return 0;
	log[n] = '\0';
	return strstr(log, what) != NULL;
}

static void task_spinlock(void)
{
	/*
	 * A few updates first, with a delay long enough that fsleep() would
	 * really sleep: a holder that sleeps is reported by the kernel, once
	 * per update, so the many updates below would flood its log.
	 */
	if (!setup("spinlock", "20", 0) ||
	    hammer(2, 50, BANK_IOC_DEPOSIT, 30) < 0)
		return;
	if (kernel_log_has("scheduling while atomic") ||
	    kernel_log_has("sleeping function called from invalid context")) {
		obs(0, "spinlock: the holder slept (the kernel log says so): a spinlock holder may not sleep");
		return;
	}
	check_lost("spinlock", "20", 4000,
		   "is the read of the balance inside the lock?");
}

static void task_mutex(void)
{
	/* A lock left held would only make the next check wait: skip it. */
	if (!check_error_path("mutex"))
		return;
	check_lost("mutex", "50", 1000,
		   "is the read of the balance inside the lock?");
}

static void task_atomic(void)
{
	long done;
	int64_t b;

	check_lost("atomic", "20", 3000,
		   "when the compare-and-swap fails, does the update try again with the balance it found?");
	if (!setup("atomic", "20", 1000))
		return;
	done = hammer(2, 1000, BANK_IOC_WITHDRAW, 60);
	b = balance();
	if (done < 0)
		obs(0, "atomic: withdrawals did not finish in 60 s: does the retry loop end?");
	else if (b < 0)
		obs(0, "atomic: 2 processes withdrawing 1 at a time took the balance from 1000 to %lld: refuse a withdrawal on the value the compare-and-swap replaces",
		    (long long)b);
	else if (done + b != 1000)
		obs(0, "atomic: %ld withdrawals of 1 from 1000 went through, and %lld is left: %lld updates lost: does a failed compare-and-swap try again?",
		    done, (long long)b, (long long)(done + b - 1000));
	else if (b != 0)
		obs(0, "atomic: withdrawals were refused with %lld left", (long long)b);
	else
		obs(1, "atomic: 2000 withdrawals of 1 from 1000: exactly 1000 taken, never below 0");
}

/* A blocking withdrawal of @amount, in a child: its pid. */
static pid_t waiter(int64_t amount, int catch_usr1)
{
	pid_t pid = lab_fork();

	if (pid == 0) {
		struct sigaction sa = { .sa_handler = SIG_IGN };

		if (catch_usr1) {
			/* A handler without SA_RESTART: the call ends, EINTR. */
			sa.sa_handler = on_usr1;
			sigaction(SIGUSR1, &sa, NULL);
		}
		alarm(20);
		_exit(op(dev(), BANK_IOC_WITHDRAW, amount));
	}
	return pid;
}

/* Is @pid still waiting after 300 ms? Reports it if not. */
static int still_waiting(pid_t pid, const char *what)
{
	int rc = reap(pid, 300);

	if (rc == -2)
		return 1;
	if (rc == EAGAIN)
		obs(0, "%s: a withdrawal short of funds returned EAGAIN at once instead of waiting: sleep until it may succeed",
		    what);
	else if (rc == 0)
		obs(0, "%s: a withdrawal short of funds succeeded: the balance went to %lld",
		    what, (long long)balance());
	else
		obs(0, "%s: a withdrawal short of funds failed: %s", what,
		    rc > 0 ? strerror(rc) : "killed");
	return 0;
}

/*
 * A withdrawal of 30 from 0 waits; then a deposit of 30 (@reset: a reset
 * to 30) must let it through. 0 if the module refused the setup.
 */
static int woken_by(int reset, const char *what)
{
	int64_t v = 30;
	pid_t pid;
	int rc;

	if (!setup("mutex", "0", 0))
		return 0;
	pid = waiter(30, 0);
	if (!still_waiting(pid, what))
		return 1;
	if (reset)
		set_balance(v);
	else
		call(BANK_IOC_DEPOSIT, &(struct bank_op){ .amount = v });
	rc = reap(pid, 3000);
	if (rc == 0 && balance() == 0)
		obs(1, "a waiting withdrawal completes after %s", what);
	else if (rc == -2)
		obs(0, "withdraw never woke after %s: who wakes the wait queue?",
		    what);
	else
		obs(0, "after %s the waiting withdrawal ended with %s, balance %lld",
		    what, rc > 0 ? strerror(rc) : "success",
		    (long long)balance());
	if (rc == -2)
		kill_reap(pid);
	return 1;
}

static void task_wait(void)
{
	pid_t pid, p2;
	int rc, rc2;

	if (!woken_by(0, "a deposit") ||
	    !woken_by(1, "the balance was reset (BANK_IOC_SET_BALANCE)"))
		return;

	/* A signal ends the wait, nothing taken. */
	if (!setup("mutex", "0", 10))
		return;
	pid = waiter(30, 1);
	if (still_waiting(pid, "signal")) {
		kill(pid, SIGUSR1);
		rc = reap(pid, 3000);
		if (rc == EINTR && balance() == 10)
			obs(1, "a signal ends the wait with EINTR, nothing taken");
		else if (rc == -2)
			obs(0, "a signal did not end the wait for funds: the sleep must be interruptible, and the call return -ERESTARTSYS");
		else
			obs(0, "a signal ended the wait with %s and left %lld of 10: expected EINTR and nothing taken",
			    rc > 0 ? strerror(rc) : "success", (long long)balance());
		if (rc == -2)
			kill_reap(pid);
	}

	/*
	 * Two waiters for 10, one deposit of 15: both wake and both see
	 * enough, but only one can have it. delay_us keeps the first one's
	 * update in progress while the second looks.
	 */
	if (!setup("mutex", "10000", 0))
		return;
	pid = waiter(10, 0);
	p2 = waiter(10, 0);
	if (!still_waiting(pid, "two waiters") ||
	    !still_waiting(p2, "two waiters")) {
		kill_reap(pid);
		kill_reap(p2);
		return;
	}
	call(BANK_IOC_DEPOSIT, &(struct bank_op){ .amount = 15 });
	sleep_ms(500);
	rc = reap(pid, 0);
	rc2 = reap(p2, 0);
	if (rc == EAGAIN || rc2 == EAGAIN)
		obs(0, "two waiters for 10, a deposit of 15: one woken withdrawal returned EAGAIN: after waking, check the balance again under the lock and wait again if it is short");
	else if (balance() < 0)
		obs(0, "two waiters for 10, a deposit of 15: the balance went to %lld: check the balance again under the lock after waking",
		    (long long)balance());
	else if ((rc == 0) + (rc2 == 0) != 1)
		obs(0, "two waiters for 10, a deposit of 15: %d withdrawals went through, not 1",
		    (rc == 0) + (rc2 == 0));
	else {
		call(BANK_IOC_DEPOSIT, &(struct bank_op){ .amount = 5 });
		if (reap(rc == 0 ? p2 : pid, 3000) == 0 && balance() == 0)
			obs(1, "two waiters, one deposit for one of them: one goes, the other waits for the next deposit");
		else
			obs(0, "two waiters for 10: the second did not complete after enough was deposited");
	}
	kill_reap(pid);
	kill_reap(p2);
}

static void task_mode(void)
{
	int fd, fd2, rc;
	long deposits = 0;
	pid_t opener, switcher;
	int64_t start = 1000;
	int pipefd[2];

	if (!setup("mutex", "0", 0))
		return;
	fd = dev();
	rc = bank_param_write("lock", "atomic") < 0 ? errno : 0;
	if (rc != EBUSY)
		obs(0, "lock=atomic %s while /dev/bank was open: refuse a change of lock mode (EBUSY) while any descriptor is open",
		    rc ? strerror(rc) : "was accepted");
	fd2 = dev();
	close(fd);
	rc = bank_param_write("lock", "atomic") < 0 ? errno : 0;
	if (rc != EBUSY)
		obs(0, "two descriptors open, one closed: lock=atomic %s: count every open descriptor",
		    rc ? strerror(rc) : "was accepted");
	close(fd2);
	rc = bank_param_write("lock", "spinlock") < 0 ? errno : 0;
	if (rc)
		obs(0, "lock=spinlock refused (%s) after every descriptor was closed: does every release() undo its open()?",
		    strerror(rc));
	if (failures)
		return;

	/* open() against lock changes: no deposit may be lost. */
	if (!setup("mutex", "20", start) || pipe(pipefd))
		return;
	opener = lab_fork();
	if (opener == 0) {
		long ok = 0, k;

		alarm(30);
		for (k = 0; k < 1500; k++) {
			fd = open(BANK_DEVICE, O_RDWR);
			ok += fd >= 0 && op(fd, BANK_IOC_DEPOSIT, 1) == 0;
			close(fd);
		}
		if (write(pipefd[1], &ok, sizeof(ok)) != sizeof(ok))
			_exit(1);
		_exit(0);
	}
	switcher = lab_fork();
	if (switcher == 0) {
		static const char *const m[] = { "spinlock", "atomic", "mutex" };
		unsigned int k;

		for (k = 0;; k++)
			bank_param_write("lock", m[k % 3]);
	}
	rc = reap(opener, 40000);
	kill_reap(switcher);
	close(pipefd[1]);
	if (read(pipefd[0], &deposits, sizeof(deposits)) != sizeof(deposits))
		deposits = -1;
	close(pipefd[0]);
	if (rc != 0)
		obs(0, "open, deposit, close in a loop while lock= changed: did not finish in 30 s");
	else if (balance() != start + deposits)
		obs(0, "open, deposit, close while lock= changed: %lld of %ld deposits lost: a change raced with open(); decide and count under one lock",
		    (long long)(start + deposits - balance()), deposits);
	else
		obs(1, "lock= refused while open; %ld deposits exact while lock= changed between opens",
		    deposits);
}

static int transfers(uint32_t from, uint32_t to, int n)
{
	struct bank_transfer t = { .from = from, .to = to, .amount = 1 };
	int fd = dev(), k, ret = 0;

	for (k = 0; k < n && !ret; k++)
		if (ioctl(fd, BANK_IOC_TRANSFER, &t) < 0)
			ret = errno;
	close(fd);
	return ret;
}

static void task_order(void)
{
	struct bank_accounts all = { .flags = 0 };
	long long sum = 0;
	pid_t a, b;
	int ra, rb;
	uint32_t i;

	if (!setup("mutex", "0", 200) ||
	    bank_param_write("lock_order", "ordered") < 0) {
		obs(0, "lock_order=ordered refused: %s", strerror(errno));
		return;
	}
	/* One at a time: lockdep (debug kernel) still sees the two orders. */
	if (transfers(1, 2, 1) || transfers(2, 1, 1)) {
		obs(0, "a transfer between accounts 1 and 2 failed: %s",
		    strerror(errno));
		return;
	}
	if (bank_param_write("delay_us", "2000") < 0)
		return;
	a = lab_fork();
	if (a == 0) {
		alarm(15);
		_exit(transfers(1, 2, 100));
	}
	b = lab_fork();
	if (b == 0) {
		alarm(15);
		_exit(transfers(2, 1, 100));
	}
	ra = reap(a, 20000);
	rb = reap(b, 20000);
	if (ra == -2)
		kill_reap(a);
	if (rb == -2)
		kill_reap(b);
	if (call(BANK_IOC_GET_ACCOUNTS, &all) == 0)
		for (i = 0; i < all.count; i++)
			sum += all.balances[i];
	if (ra < 0 || rb < 0)
		obs(0, "transfers 1->2 and 2->1 at the same time never finished: a deadlock: take the two accounts' locks in one order, whatever the direction");
	else if (ra || rb)
		obs(0, "transfers 1->2 and 2->1 failed: %s", strerror(ra ? ra : rb));
	else if (sum != 200LL * all.count)
		obs(0, "transfers 1->2 and 2->1: the accounts add up to %lld, not %lld",
		    sum, 200LL * all.count);
	else
		obs(1, "200 transfers 1->2 and 2->1 at the same time: no deadlock, no money lost");
}

int main(int argc, char **argv)
{
	static void (*const tasks[])(void) = {
		task_spinlock, task_mutex, task_atomic, task_wait, task_mode,
		task_order,
	};
	int n = argc == 2 ? atoi(argv[1]) : 0;

	set_progname(argv[0]);
	if (n < 1 || n > 6) {
		fprintf(stderr, "usage: bank_lab TASK (1 to 6)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Its own process group: the alarm ends the task and its children. */
	setpgid(0, 0);
	signal(SIGALRM, on_alarm);
	alarm(LAB_TASK_SECS);
	tasks[n - 1]();
	alarm(0);
	bank_param_write("delay_us", "0");
	return failures ? 1 : 0;
}
