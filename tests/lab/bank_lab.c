// SPDX-License-Identifier: GPL-2.0
/*
 * bank_lab: the lab's examiner, in the guest. `bank_lab N` runs task N's
 * checks against the bank.ko loaded now (fresh, with its defaults) and
 * prints what it saw, one line each:
 *
 *   LAB-OBS pass <what was checked>
 *   LAB-OBS fail <what went wrong, in a student's words, and a hint>
 *
 * Exit status 0 if every check passed, 1 if one failed, 3 if a process is
 * left stuck in the kernel for good (spinning on a lock nobody will
 * release, or asleep where no signal reaches it): the module can no longer
 * be unloaded, so scripts/guest/lab.sh goes on in a fresh boot. The kernel
 * log is judged on the host (scripts/lab/grade.sh): this program only looks at
 * what a process can see, /proc included.
 *
 * Every path of the student's code runs first (success, each refusal, a
 * signal during a wait, O_NONBLOCK), each followed by a probe: a child that
 * takes the same locks again. A probe that does not come back is judged in
 * well under a second from what /proc says it is doing, never by waiting
 * out a long bound.
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
static int wedged;	/* a process stuck in the kernel for good */

/* A last resort only: every wait below decides from the task's state. */
#define LAB_TASK_SECS	240

/*
 * A probe holds no lock anyone else wants and has no delay: it is never
 * asleep, nor running in the kernel, for this long unless it is stuck.
 */
#define SETTLE_MS	500

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
	_exit(3);
}

/* fork(); the child drops the task's alarm handler: its alarm ends it alone. */
static pid_t lab_fork(void)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
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

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int dev_flags(int flags)
{
	int fd = open(BANK_DEVICE, O_RDWR | O_CLOEXEC | flags);

	if (fd < 0) {
		obs(0, "cannot open %s: %s", BANK_DEVICE, strerror(errno));
		exit(1);
	}
	return fd;
}

static int dev(void)
{
	return dev_flags(0);
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

static const char *err_name(int rc)
{
	switch (rc) {
	case 0: return "success";
	case EAGAIN: return "EAGAIN";
	case EINTR: return "EINTR";
	case EINVAL: return "EINVAL";
	case EOVERFLOW: return "EOVERFLOW";
	case EBUSY: return "EBUSY";
	case -1: return "killed";
	default: return strerror(rc);
	}
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

/* What a process is doing, as /proc tells it. */
struct pstate {
	char state;		/* R, S, D...; 0 once it is gone */
	unsigned long long utime, stime;	/* clock ticks */
	unsigned long switches;	/* context switches, both kinds */
	char wchan[64];		/* where it sleeps */
	char func[64];		/* the first bank.ko function on its stack */
};

static void read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return;
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static void pstate_read(pid_t pid, struct pstate *ps, int stack)
{
	char path[64], buf[1024], *p;
	unsigned long n;
	FILE *f;

	memset(ps, 0, sizeof(*ps));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	read_line(path, buf, sizeof(buf));
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ps->state, &ps->utime, &ps->stime) != 3) {
		ps->state = 0;
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "voluntary_ctxt_switches: %lu", &n) == 1 ||
		    sscanf(buf, "nonvoluntary_ctxt_switches: %lu", &n) == 1)
			ps->switches += n;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	read_line(path, ps->wchan, sizeof(ps->wchan));
	if (!strcmp(ps->wchan, "0"))
		ps->wchan[0] = '\0';
	/* "[<0>] bank_update_mutex+0x4a/0x120 [bank]": the student's frame. */
	snprintf(path, sizeof(path), "/proc/%d/stack", (int)pid);
	f = stack ? fopen(path, "r") : NULL;
	while (f && fgets(buf, sizeof(buf), f)) {
		if (!strstr(buf, "[bank]") || !(p = strchr(buf, ' ')))
			continue;
		snprintf(ps->func, sizeof(ps->func), "%.*s",
			 (int)strcspn(p + 1, "+ "), p + 1);
		break;
	}
	if (f)
		fclose(f);
}

/* "state D, in bank_wait_for_funds()": for a hint, up to 3 in one. */
static const char *pstate_str(const struct pstate *ps)
{
	static char bufs[3][192];
	static unsigned int next;
	char *s = bufs[next++ % 3];
	const char *where = ps->func[0] ? ps->func : ps->wchan;

	if (ps->state == 'R')
		snprintf(s, sizeof(bufs[0]), "state R: running in the kernel, never leaving the CPU");
	else
		snprintf(s, sizeof(bufs[0]), "state %c%s%s%s%s%s", ps->state,
			 where[0] ? ", in " : "", where, where[0] ? "()" : "",
			 ps->wchan[0] && strcmp(where, ps->wchan) ? ", waiting in " : "",
			 ps->wchan[0] && strcmp(where, ps->wchan) ? ps->wchan : "");
	return s;
}

/*
 * Wait for @pid to exit, at most @budget_ms: its exit code, -1 if killed,
 * or -2 if it is stuck (@ps says how). Stuck: for @settle_ms on end it
 * neither left the kernel nor was switched out or in, and it either slept
 * (S, D) or ran in the kernel (R, with system time growing: spinning).
 * A process merely waiting for a CPU (R, no time) is not judged until the
 * budget runs out.
 */
static int watch(pid_t pid, long budget_ms, long settle_ms, struct pstate *ps)
{
	long start = now_ms(), since = start;
	struct pstate last, cur;
	int status;

	pstate_read(pid, &last, 0);
	for (;;) {
		pid_t got = waitpid(pid, &status, WNOHANG);

		if (got == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (got < 0)	/* reaped already */
			return -1;
		if (now_ms() - start >= budget_ms) {
			pstate_read(pid, ps, 1);
			return -2;
		}
		sleep_ms(10);
		pstate_read(pid, &cur, 0);
		if (cur.state != last.state || cur.switches != last.switches ||
		    cur.utime != last.utime || strcmp(cur.wchan, last.wchan)) {
			last = cur;
			since = now_ms();
			continue;
		}
		if (now_ms() - since < settle_ms)
			continue;
		/* Spinning: at least half the window spent in the kernel. */
		if (cur.state == 'R' &&
		    (cur.stime - last.stime) * (1000 / sysconf(_SC_CLK_TCK)) * 2 <
		    (unsigned long long)settle_ms)
			continue;
		pstate_read(pid, ps, 1);
		if (!ps->state)	/* it just ended */
			continue;
		return -2;
	}
}

/* End a stuck @pid if a signal can; if none can, the boot is spent. */
static void end_stuck(pid_t pid)
{
	struct pstate ps;

	kill(pid, SIGKILL);
	if (watch(pid, 1500, 1500, &ps) == -2)
		wedged = 1;
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

/*
 * What a stuck probe means, for a hint: @after is the path that ran just
 * before it, @lock what the probe wanted.
 */
static void report_stuck(const char *mode, const char *after,
			 const char *lock, const struct pstate *ps)
{
	if (ps->state == 'R')
		obs(0, "%s: after %s, the next call spun forever on %s (%s): the lock was left held: that path returns without unlocking it",
		    mode, after, lock, pstate_str(ps));
	else
		obs(0, "%s: after %s, the next call waited forever for %s (%s): the lock was left held: that path returns without unlocking it",
		    mode, after, lock, pstate_str(ps));
}

/* What a probe takes: account 0's lock in updates, statements, transfers. */
enum { PROBE_UPDATE = 1, PROBE_TRANSFER = 2, PROBE_OPEN = 4 };

static int probe_child(int what)
{
	struct bank_stats st;
	struct bank_accounts all = { .flags = 0 };
	struct bank_transfer t = { .from = 1, .to = 0, .amount = 1 };
	int fd, rc = 0;

	if (what & PROBE_OPEN) {
		/* open() and close() take bank_open_lock; so does lock=. */
		fd = dev();
		close(fd);
		if (bank_param_write("lock", "mutex") < 0)
			return errno;
		return 0;
	}
	/* The update first: if it is stuck, its stack names the student's code. */
	fd = dev_flags(O_NONBLOCK);
	if (what & PROBE_UPDATE)
		rc = op(fd, BANK_IOC_DEPOSIT, 1);
	if (!rc && (what & PROBE_UPDATE))
		rc = op(fd, BANK_IOC_WITHDRAW, 1);
	if (!rc && ioctl(fd, BANK_IOC_GET_STATS, &st) < 0)
		rc = errno;
	if (!rc && (what & PROBE_TRANSFER)) {
		if (ioctl(fd, BANK_IOC_TRANSFER, &t) < 0)
			rc = errno;
		t.from = 0;
		t.to = 1;
		if (!rc && ioctl(fd, BANK_IOC_TRANSFER, &t) < 0)
			rc = errno;
		if (!rc && ioctl(fd, BANK_IOC_GET_ACCOUNTS, &all) < 0)
			rc = errno;
	}
	close(fd);
	return rc;
}

/* After @after in @mode: do the locks still work? 1 if so (or reported). */
static int probe(const char *mode, const char *after, const char *lock,
		 int what)
{
	struct pstate ps;
	pid_t pid = lab_fork();
	int rc;

	if (pid == 0)
		_exit(probe_child(what));
	rc = watch(pid, 10000, SETTLE_MS, &ps);
	if (rc == -2) {
		report_stuck(mode, after, lock, &ps);
		end_stuck(pid);
		return 0;
	}
	if (rc && (what & PROBE_OPEN))
		obs(0, "%s: after %s, with every descriptor closed, lock=mutex was refused (%s): does every release() undo its open()?",
		    mode, after, err_name(rc));
	else if (rc)
		obs(0, "%s: after %s, a deposit, a withdrawal and a statement failed: %s",
		    mode, after, err_name(rc));
	return rc == 0;
}

/*
 * One path of the student's code, in a child: @fn's result must be
 * @want. Then a probe. 0 once the task should stop (a lock left held).
 */
static int path(const char *mode, const char *what, const char *lock,
		int probes, int (*fn)(void), int want)
{
	struct pstate ps;
	pid_t pid = lab_fork();
	int rc;

	if (pid == 0) {
		alarm(20);
		_exit(fn());
	}
	rc = watch(pid, 10000, SETTLE_MS, &ps);
	if (rc == -2) {
		obs(0, "%s: %s never returned (%s)", mode, what,
		    pstate_str(&ps));
		end_stuck(pid);
		return 0;
	}
	if (rc != want)
		obs(0, "%s: %s: %s, expected %s", mode, what, err_name(rc),
		    err_name(want));
	return probe(mode, what, lock, probes);
}

/* From balance @start, @cmd of @amount: what the call said. */
static int op_from(int64_t start, int flags, unsigned long cmd, int64_t amount)
{
	if (set_balance(start))
		return -1;
	return op(dev_flags(flags), cmd, amount);
}

/* The paths, run in a child: each returns what the call said. */
static int p_deposit(void)
{
	return op_from(100, 0, BANK_IOC_DEPOSIT, 5);
}

static int p_withdraw(void)
{
	return op_from(100, 0, BANK_IOC_WITHDRAW, 5);
}

static int p_refused(void)
{
	return op_from(10, O_NONBLOCK, BANK_IOC_WITHDRAW, 100);
}

static int p_overflow(void)
{
	return op_from(INT64_MAX - 1, 0, BANK_IOC_DEPOSIT, 5);
}

static int p_zero(void)
{
	return op(dev(), BANK_IOC_WITHDRAW, 0);
}

static int p_batch_refused(void)
{
	int64_t amounts[] = { 5, -1000 };
	struct bank_batch b = {
		.amounts = (uintptr_t)amounts, .count = 2,
	};

	if (set_balance(10))
		return -1;
	return ioctl(dev(), BANK_IOC_BATCH, &b) < 0 ? errno : 0;
}

static int p_batch_invalid(void)
{
	int64_t amounts[] = { 5, 0 };
	struct bank_batch b = {
		.amounts = (uintptr_t)amounts, .count = 2,
	};

	return ioctl(dev(), BANK_IOC_BATCH, &b) < 0 ? errno : 0;
}

static int transfer(uint32_t from, uint32_t to, int64_t amount)
{
	struct bank_transfer t = { .from = from, .to = to, .amount = amount };

	return call(BANK_IOC_TRANSFER, &t);
}

static int p_transfers(void)
{
	int rc;

	if (set_balance(100))
		return -1;
	rc = transfer(1, 0, 5);
	return rc ? rc : transfer(0, 1, 5);
}

/*
 * One direction only, in the tasks before 6: transfers both ways would
 * show lockdep task 6's lock order, not this task's locking.
 */
static int p_transfer_out(void)
{
	return set_balance(100) ? -1 : transfer(0, 1, 5);
}

static int p_transfer_refused(void)
{
	return set_balance(10) ? -1 : transfer(0, 1, 1000);
}

static int p_transfer_overflow(void)
{
	return set_balance(INT64_MAX - 1) ? -1 : transfer(1, 0, 5);
}

/*
 * A blocking withdrawal short of funds, ended by a signal while it waits:
 * EINTR. @state gets the waiter's state as it waited ('D': a signal could
 * not end it, and nothing else will).
 */
static int signal_during_wait(char *state, struct pstate *stuck)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct pstate ps;
	pid_t pid;
	int rc;

	*state = 0;
	if (set_balance(10))
		return -1;
	pid = lab_fork();
	if (pid == 0) {
		/* A handler without SA_RESTART: the call ends, EINTR. */
		sigaction(SIGUSR1, &sa, NULL);
		alarm(20);
		_exit(op(dev(), BANK_IOC_WITHDRAW, 100));
	}
	/* Asleep and not waking: waiting, as it should. */
	rc = watch(pid, 5000, 300, &ps);
	if (rc != -2)
		return rc;
	*state = ps.state;
	*stuck = ps;
	kill(pid, SIGUSR1);
	rc = watch(pid, 3000, SETTLE_MS, &ps);
	if (rc == -2) {
		*stuck = ps;
		end_stuck(pid);
	}
	return rc;
}

/*
 * Every path of an update in @mode, each followed by a probe that takes
 * account 0's lock again. 0 if a lock was left held (reported).
 */
static int drive_update_paths(const char *mode, const char *lock)
{
	static const struct {
		const char *what;
		int (*fn)(void);
		int want;
	} paths[] = {
		{ "a deposit", p_deposit, 0 },
		{ "a withdrawal", p_withdraw, 0 },
		{ "a withdrawal refused for want of funds (EAGAIN, O_NONBLOCK)",
		  p_refused, EAGAIN },
		{ "a deposit refused for overflow (EOVERFLOW)", p_overflow,
		  EOVERFLOW },
		{ "a withdrawal of 0 (EINVAL)", p_zero, EINVAL },
		{ "a batch refused whole (EAGAIN)", p_batch_refused, EAGAIN },
		{ "a batch with an entry of 0 (EINVAL)", p_batch_invalid,
		  EINVAL },
		{ "a transfer out of account 0", p_transfer_out, 0 },
		{ "a transfer refused for want of funds (EAGAIN)",
		  p_transfer_refused, EAGAIN },
	};
	struct pstate ps;
	unsigned int i;
	char state;
	int rc;

	if (!setup(mode, "0", 100))
		return 0;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!path(mode, paths[i].what, lock, PROBE_UPDATE,
			  paths[i].fn, paths[i].want))
			return 0;
	rc = signal_during_wait(&state, &ps);
	if (rc == -2) {
		obs(0, "%s: a withdrawal waiting for funds did not end on a signal (%s)",
		    mode, pstate_str(&ps));
		return 0;
	}
	if (!probe(mode, "a withdrawal that waited for funds and was interrupted by a signal (EINTR)",
		   lock, PROBE_UPDATE))
		return 0;
	obs(1, "%s: every path (success, EAGAIN, EOVERFLOW, EINVAL, a signal during a wait, transfers) leaves %s free",
	    mode, lock);
	return 1;
}

/*
 * @procs processes, each @n operations @cmd of 1, nonblocking, within
 * @secs seconds. Returns how many succeeded, -1 if a process hung (then
 * reported, with @why: what to look at).
 */
static long hammer(int procs, long n, unsigned long cmd, unsigned int secs,
		   pid_t *pids, const char *why)
{
	int pipefd[2], i, hung = 0;
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
	/* A second with no progress at all: stuck (a hammering child is never idle). */
	for (i = 0; i < procs; i++) {
		struct pstate ps;
		int rc = watch(pids[i], secs * 1000L, 1000, &ps);

		if (rc == -2) {
			if (!hung)
				obs(0, "updates from %d processes: one stopped for good (%s): %s",
				    procs, pstate_str(&ps), why);
			end_stuck(pids[i]);
		}
		if (rc != 0)
			hung = 1;
	}
	/* A child stuck for good holds the pipe open: a read would wait too. */
	while (!hung && read(pipefd[0], &got, sizeof(got)) == sizeof(got))
		total += got;
	close(pipefd[0]);
	return hung ? -1 : total;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/*
 * Do updates in @mode hold account 0's own lock? One process updates
 * without pause, holding the lock @delay_us at each update; meanwhile a
 * statement (BANK_IOC_GET_STATS), which takes account 0's lock itself,
 * waits for the holder about half a delay if they share it, and not at all
 * if the updates take another lock (one declared in the function, a new one
 * at each call) or none. The median of 31 statements, against a tenth of
 * the delay: far from both. 1 if they share it, 0 if not, -1 if unknown.
 */
static int holds_account_lock(const char *mode, const char *delay_us)
{
	struct bank_stats st;
	long us[31], t;
	unsigned int i;
	pid_t pid;
	int fd;

	if (!setup(mode, delay_us, 0))
		return -1;
	pid = lab_fork();
	if (pid == 0) {
		fd = dev();
		alarm(20);
		for (;;)
			op(fd, BANK_IOC_DEPOSIT, 1);
	}
	sleep_ms(100);
	fd = dev();
	for (i = 0; i < sizeof(us) / sizeof(us[0]); i++) {
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		if (ioctl(fd, BANK_IOC_GET_STATS, &st) < 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (b.tv_sec - a.tv_sec) * 1000000L +
			(b.tv_nsec - a.tv_nsec) / 1000;
		sleep_ms(3);
	}
	close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (i < sizeof(us) / sizeof(us[0]))
		return -1;
	qsort(us, i, sizeof(us[0]), cmp_long);
	t = us[i / 2];
	return t * 10 >= atol(delay_us);
}

/* What keeps an update in the kernel for good, by mode: for a hint. */
static const char held_why[] =
	"is the lock released on every path?";
static const char cas_why[] =
	"with no lock to wait for, only the update's own loop can keep it there: does each retry compute from the value the failed compare-and-swap found? A loop that retries with its first snapshot never succeeds once another update got in";

/*
 * Withdrawals from two processes, after deposits lost none: a withdrawal
 * too must read, compute and write back under @lock. 1 if none was lost.
 */
static int check_lost_withdrawals(const char *mode, const char *delay_us,
				  long n, const char *lock)
{
	pid_t pids[2];
	long done, lost, start = 2 * n;
	int64_t b;

	if (!setup(mode, delay_us, start))
		return 0;
	done = hammer(2, n, BANK_IOC_WITHDRAW, 60, pids, held_why);
	if (done < 0) {
		obs(0, "%s: withdrawals from 2 processes did not finish in 60 s: %s",
		    mode, held_why);
		return 0;
	}
	b = balance();
	lost = b - (start - done);
	if (lost > 0)
		obs(0, "%s: %ld of %ld withdrawals lost (%ld went through, and %lld of %ld is left), though deposits lost none: does a withdrawal take %s too? Every kind of update reads, computes and writes back under the lock",
		    mode, lost, done, done, (long long)b, start, lock);
	else if (lost || done != start)
		obs(0, "%s: %ld withdrawals of 1 from %ld went through, and %lld is left",
		    mode, done, start, (long long)b);
	else
		return 1;
	return 0;
}

/*
 * Deposits from two processes: every one must count. When some are lost,
 * holds_account_lock() tells the two mistakes apart: updates that hold
 * the account's lock, but read or write the balance outside it; updates
 * that hold a lock nobody shares (declared in the function: a new one at
 * each call), or none. @lock: the lock to name, NULL in mode atomic.
 */
static void check_lost(const char *mode, const char *delay_us, long n,
		       const char *lock, const char *max_delay_us)
{
	pid_t pids[2];
	long done, lost;
	int64_t b;
	int shared;

	if (!setup(mode, delay_us, 0))
		return;
	done = hammer(2, n, BANK_IOC_DEPOSIT, 60, pids,
		      lock ? held_why : cas_why);
	if (done < 0) {
		obs(0, "%s: deposits from 2 processes did not finish in 60 s: %s",
		    mode, lock ? held_why : cas_why);
		return;
	}
	b = balance();
	lost = done - b;
	if (done != 2 * n) {
		obs(0, "%s: %ld of %ld deposits failed", mode, 2 * n - done,
		    2 * n);
		return;
	}
	/* Mode atomic's withdrawals: task_atomic(), with its overdraft. */
	if (!lost && lock && !check_lost_withdrawals(mode, delay_us, n / 2, lock))
		return;
	if (!lost) {
		obs(1, "%s: %ld deposits%s from 2 processes, none lost", mode,
		    done, lock ? " and withdrawals" : "");
		return;
	}
	if (!lock) {
		obs(0, "%s: %ld of %ld updates lost: when the compare-and-swap fails, does the update try again with the balance it found?",
		    mode, lost, done);
		return;
	}
	shared = holds_account_lock(mode, max_delay_us);
	if (shared == 1)
		obs(0, "%s: %ld of %ld updates lost, although updates hold %s (a statement waits for them): the read or the write of the balance is outside it: read, compute and write back all under the lock",
		    mode, lost, done, lock);
	else if (shared == 0)
		obs(0, "%s: %ld of %ld updates lost, and updates never hold %s (a statement, which takes it, never waits for one holding it %s us): they share no lock: a lock declared in the function is a new one at each call and excludes nobody: take the account's own, %s",
		    mode, lost, done, lock, max_delay_us, lock);
	else
		obs(0, "%s: %ld of %ld updates lost: are the read and the write of the balance under %s?",
		    mode, lost, done, lock);
}

/* Where the kernel log (this task's: lab.sh clears it) says @what, or NULL. */
static const char *kernel_log_find(const char *what)
{
	static char log[1 << 20];
	int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log) - 1);

	if (n < 0)
		return NULL;
	log[n] = '\0';
	return strstr(log, what);
}

static int kernel_log_has(const char *what)
{
	return kernel_log_find(what) != NULL;
}

/*
 * "scheduling while atomic: bank_lab/129/0x00000000": the scheduler found
 * a preemption count of 0 where it expects its own 1, so one more unlock
 * than locks ran before (each spin_unlock() counts one down).
 */
static int kernel_log_unlocked_twice(void)
{
	const char *p = kernel_log_find("scheduling while atomic: ");

	return p && !strncmp(p + strcspn(p, "\n") - 11, "/0x00000000", 11);
}

static void task_spinlock(void)
{
	pid_t pids[2];

	/*
	 * The paths with no delay, then a few updates with a delay long
	 * enough that fsleep() would really sleep: a holder that sleeps is
	 * reported by the kernel, once per update, so the many updates below
	 * would flood its log.
	 */
	if (!drive_update_paths("spinlock", "the account's spinlock (a->spinlock)"))
		return;
	if (!setup("spinlock", "20", 0) ||
	    hammer(2, 50, BANK_IOC_DEPOSIT, 30, pids, held_why) < 0)
		return;
	if (kernel_log_unlocked_twice()) {
		obs(0, "spinlock: the kernel scheduled with a preemption count of 0, one below its own (\"scheduling while atomic: .../0x00000000\"): a spinlock was unlocked once more than it was locked: a path unlocks it twice (an unlock in a branch, then again at the label)");
		return;
	}
	if (kernel_log_has("scheduling while atomic") ||
	    kernel_log_has("sleeping function called from invalid context")) {
		obs(0, "spinlock: the holder slept (the kernel log says so): a spinlock holder may not sleep");
		return;
	}
	check_lost("spinlock", "20", 4000, "a->spinlock", "1000");
}

static void task_mutex(void)
{
	if (!drive_update_paths("mutex", "the account's mutex (a->mutex)"))
		return;
	check_lost("mutex", "50", 1000, "a->mutex", "10000");
}

static void task_atomic(void)
{
	pid_t pids[2];
	long done;
	int64_t b;

	/* A statement takes bank_atomic_rwsem exclusively: the probe's lock. */
	if (!drive_update_paths("atomic", "bank_atomic_rwsem"))
		return;
	check_lost("atomic", "20", 3000, NULL, NULL);
	/* An update stuck for good keeps /dev/bank open: lock= is refused. */
	if (wedged || !setup("atomic", "20", 1000))
		return;
	done = hammer(2, 1000, BANK_IOC_WITHDRAW, 60, pids, cas_why);
	b = balance();
	if (done < 0)
		obs(0, "atomic: withdrawals did not finish in 60 s: %s", cas_why);
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
static pid_t waiter(int64_t amount)
{
	pid_t pid = lab_fork();

	if (pid == 0) {
		alarm(20);
		_exit(op(dev(), BANK_IOC_WITHDRAW, amount));
	}
	return pid;
}

/* The lesson of a wait that only a wake-up can end: state D. */
static const char uninterruptible[] =
	"it sleeps uninterruptibly (%s): wake_up_interruptible() does not wake a TASK_UNINTERRUPTIBLE sleeper, and no signal (Ctrl-C, kill -9) can end its wait, so the process can never be stopped: wait with wait_event_interruptible(), which a signal ends (-ERESTARTSYS)";

/*
 * Is @func the update (bank_update() and the modes' functions, with their
 * delay), not the wait around it (bank_update_or_wait())?
 */
static int in_the_update(const char *func)
{
	return !strcmp(func, "bank_update") || !strcmp(func, "bank_delay") ||
	       (!strncmp(func, "bank_update_", 12) &&
		strcmp(func, "bank_update_or_wait"));
}

/*
 * Is @pid waiting (asleep, not waking) after a moment? Reports it if not,
 * and a wait that no signal can end. 1 if it waits as it should.
 */
static int still_waiting(pid_t pid, const char *what)
{
	struct pstate ps;
	char h[512];
	int rc = watch(pid, 5000, 300, &ps);

	if (rc == -2) {
		if (ps.state != 'D')
			return 1;
		if (in_the_update(ps.func)) {
			obs(0, "%s: a withdrawal short of funds waits, but asleep in the update itself (%s): does the update run inside a wait's condition? The condition of wait_event_interruptible() must not sleep (nor take a mutex): look without a lock (bank_peek()), and take the lock after the wait",
			    what, pstate_str(&ps));
			end_stuck(pid);
			return 0;
		}
		snprintf(h, sizeof(h), uninterruptible, pstate_str(&ps));
		obs(0, "%s: a withdrawal short of funds waits, but %s", what, h);
		end_stuck(pid);
		return 0;
	}
	if (rc == EAGAIN)
		obs(0, "%s: a withdrawal short of funds returned EAGAIN at once instead of waiting: sleep until it may succeed",
		    what);
	else if (rc == 0)
		obs(0, "%s: a withdrawal short of funds succeeded: the balance went to %lld",
		    what, (long long)balance());
	else
		obs(0, "%s: a withdrawal short of funds failed: %s", what,
		    err_name(rc));
	return 0;
}

/*
 * In @mode, a withdrawal of 30 from 0 waits; then a deposit of 30 (@reset:
 * a reset to 30) must let it through. The deposit holds the lock 10 ms
 * before it writes the balance: a waiter woken before that looks, finds
 * too little, and sleeps again, so only a wake-up after the write lets it
 * through. @mutex_ok: the same passed in mode mutex (for the hint). 0 if
 * the task should stop.
 */
static int woken_by(const char *mode, int reset, const char *what,
		    int mutex_ok)
{
	struct pstate ps;
	int64_t v = 30;
	pid_t pid;
	int rc;

	if (!setup(mode, "10000", 0))
		return 0;
	pid = waiter(30);
	if (!still_waiting(pid, what))
		return !wedged;
	if (reset)
		set_balance(v);
	else
		call(BANK_IOC_DEPOSIT, &(struct bank_op){ .amount = v });
	rc = watch(pid, 5000, SETTLE_MS, &ps);
	if (rc == 0 && balance() == 0)
		obs(1, "%s: a waiting withdrawal completes after %s", mode, what);
	else if (rc == -2 && strcmp(mode, "mutex") && mutex_ok)
		obs(0, "%s: withdraw never woke after %s (%s), though it does in mode mutex: the same wake-up, so look at the wait's condition: does it read the balance of the mode in force (bank_peek(): a->abalance in mode atomic)?",
		    mode, what, pstate_str(&ps));
	else if (rc == -2)
		obs(0, "%s%swithdraw never woke after %s (%s): nobody wakes it once the balance has changed: wake the wait queue after the new balance is written (a waiter woken before that looks, finds too little and sleeps again), with a wake_up that matches the sleep",
		    strcmp(mode, "mutex") ? mode : "",
		    strcmp(mode, "mutex") ? ": " : "", what, pstate_str(&ps));
	else
		obs(0, "%s: after %s the waiting withdrawal ended with %s, balance %lld",
		    mode, what, err_name(rc), (long long)balance());
	if (rc == -2)
		end_stuck(pid);
	return !wedged;
}

/* The wait's own paths, in @mode: O_NONBLOCK, a signal; each then probed. */
static int drive_wait_paths(const char *mode, const char *lock)
{
	struct pstate ps;
	char state, h[512];
	int rc;

	if (!setup(mode, "0", 10))
		return 0;
	if (!path(mode, "a withdrawal short of funds on an O_NONBLOCK descriptor (EAGAIN)",
		  lock, PROBE_UPDATE, p_refused, EAGAIN))
		return 0;
	rc = signal_during_wait(&state, &ps);
	if (state == 'D') {
		snprintf(h, sizeof(h), uninterruptible, pstate_str(&ps));
		obs(0, "%s: a signal did not end the wait for funds: %s",
		    mode, h);
		return 0;
	}
	if (rc == -2) {
		obs(0, "%s: a signal did not end the wait for funds (%s): the sleep must be interruptible, and the call return -ERESTARTSYS",
		    mode, pstate_str(&ps));
		return 0;
	} else if (rc == EINTR && balance() == 10) {
		obs(1, "%s: a signal ends the wait with EINTR, nothing taken",
		    mode);
	} else if (state) {
		obs(0, "%s: a signal ended the wait with %s and left %lld of 10: expected EINTR and nothing taken",
		    mode, err_name(rc), (long long)balance());
	} else {
		obs(0, "%s: a withdrawal of 100 from 10 did not wait: %s",
		    mode, err_name(rc));
	}
	return probe(mode, "a wait for funds ended by a signal (EINTR)", lock,
		     PROBE_UPDATE);
}

/*
 * A signal that comes as the funds do: the woken withdrawal goes through
 * (holding the mutex 10 ms) while the signal arrives. Either it went
 * through (0) or nothing was taken (EINTR): never EINTR with the money
 * gone. 0 if the task should stop.
 */
static int signal_with_funds(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct pstate ps;
	int64_t b;
	pid_t pid;
	int rc;

	if (!setup("mutex", "10000", 0))
		return 0;
	pid = lab_fork();
	if (pid == 0) {
		sigaction(SIGUSR1, &sa, NULL);
		alarm(20);
		_exit(op(dev(), BANK_IOC_WITHDRAW, 30));
	}
	if (!still_waiting(pid, "a signal as the funds came"))
		return !wedged;
	call(BANK_IOC_DEPOSIT, &(struct bank_op){ .amount = 30 });
	sleep_ms(3);
	kill(pid, SIGUSR1);
	rc = watch(pid, 5000, SETTLE_MS, &ps);
	b = balance();
	if (rc == -2) {
		obs(0, "a signal as the funds came: the withdrawal never returned (%s)",
		    pstate_str(&ps));
		end_stuck(pid);
	} else if (rc == EINTR && b != 30) {
		obs(0, "a signal that came while the woken withdrawal went through: EINTR, yet the balance went from 30 to %lld: the money was taken and the caller told it was not: once the update succeeded, return 0, whatever signal is pending; -ERESTARTSYS only with nothing done",
		    (long long)b);
	} else if ((rc == 0 && b == 0) || (rc == EINTR && b == 30)) {
		obs(1, "a signal as the funds came: %s, and the balance agrees",
		    rc ? "EINTR" : "success");
	} else {
		obs(0, "a signal as the funds came: the withdrawal of 30 ended with %s, and %lld of 30 is left",
		    err_name(rc), (long long)b);
	}
	return !wedged;
}

/*
 * A waiter for 100, then one for 10, then a deposit of 15: the one for
 * 10 must go, whichever the wake-up reaches first. 0 if the task should
 * stop.
 */
static int waiters_for_different_amounts(void)
{
	struct pstate ps;
	pid_t big, small;
	int rc;

	if (!setup("mutex", "0", 0))
		return 0;
	big = waiter(100);
	if (!still_waiting(big, "a waiter for 100, then one for 10")) {
		end_stuck(big);
		return !wedged;
	}
	small = waiter(10);
	if (!still_waiting(small, "a waiter for 100, then one for 10")) {
		end_stuck(big);
		end_stuck(small);
		return !wedged;
	}
	call(BANK_IOC_DEPOSIT, &(struct bank_op){ .amount = 15 });
	rc = watch(small, 5000, SETTLE_MS, &ps);
	if (rc == 0 && balance() == 5)
		obs(1, "a waiter for 100, one for 10, a deposit of 15: the one for 10 goes");
	else if (rc == -2)
		obs(0, "a waiter for 100, then one for 10, then a deposit of 15: the one for 10 never woke (%s): a wake-up that reaches one waiter may reach one that still cannot go, which sleeps again: wake them all (wake_up_interruptible_all()), each checks for itself",
		    pstate_str(&ps));
	else
		obs(0, "a waiter for 100, one for 10, a deposit of 15: the one for 10 ended with %s, balance %lld",
		    err_name(rc), (long long)balance());
	if (rc == -2)
		end_stuck(small);
	end_stuck(big);
	return !wedged;
}

static void task_wait(void)
{
	pid_t pid, p2;
	int rc, rc2, before = failures;

	if (!woken_by("mutex", 0, "a deposit", 0) ||
	    !woken_by("mutex", 1, "the balance was reset (BANK_IOC_SET_BALANCE)", 0))
		return;
	/* Waits that end as they should in mode mutex: the finer points. */
	if (failures == before &&
	    (!woken_by("atomic", 0, "a deposit", 1) || !signal_with_funds() ||
	     !waiters_for_different_amounts()))
		return;
	if (!drive_wait_paths("mutex", "the account's mutex") ||
	    !drive_wait_paths("spinlock", "the account's spinlock") ||
	    !drive_wait_paths("atomic", "bank_atomic_rwsem"))
		return;

	/*
	 * Two waiters for 10, one deposit of 15: both wake and both see
	 * enough, but only one can have it. delay_us keeps the first one's
	 * update in progress while the second looks.
	 */
	if (!setup("mutex", "10000", 0))
		return;
	pid = waiter(10);
	p2 = waiter(10);
	if (!still_waiting(pid, "two waiters") ||
	    !still_waiting(p2, "two waiters")) {
		end_stuck(pid);
		end_stuck(p2);
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
		if (rc == 0)
			rc2 = reap(p2, 3000);
		else
			rc = reap(pid, 3000);
		if (rc == 0 && rc2 == 0 && balance() == 0)
			obs(1, "two waiters, one deposit for one of them: one goes, the other waits for the next deposit");
		else
			obs(0, "two waiters for 10: the second did not complete after enough was deposited");
	}
	if (rc == -2)
		end_stuck(pid);
	if (rc2 == -2)
		end_stuck(p2);
}

static int p_open_close(void)
{
	close(dev());
	return 0;
}

/* lock= while a descriptor is open: EBUSY. */
static int p_change_while_open(void)
{
	int fd = dev(), rc;

	rc = bank_param_write("lock", "atomic") < 0 ? errno : 0;
	close(fd);
	return rc;
}

static int p_change_unknown(void)
{
	return bank_param_write("lock", "bogus") < 0 ? errno : 0;
}

static int p_change(void)
{
	return bank_param_write("lock", "atomic") < 0 ? errno : 0;
}

/*
 * Two processes opening and closing /dev/bank at once: the count must
 * come back to 0, so that lock= is refused with one descriptor open and
 * accepted with none. A count changed outside bank_open_lock loses an
 * update when two open()s or release()s meet. A third process asks for
 * changes all the while, so that KCSAN (debug kernel) may see a count
 * read outside the lock meet the opens' writes. Judged by a budget, not
 * by watch(): an opener spinning on a contended mutex may stay on its CPU
 * for a second, on a loaded host.
 */
static void concurrent_opens(void)
{
	pid_t p[2], switcher;
	int i, k, rc, fd, stuck = 0;

	switcher = lab_fork();
	if (switcher == 0) {
		alarm(30);
		for (k = 0;; k++)
			bank_param_write("lock", k % 2 ? "atomic" : "mutex");
	}
	for (i = 0; i < 2; i++) {
		p[i] = lab_fork();
		if (p[i] == 0) {
			alarm(30);
			for (k = 0; k < 3000; k++) {
				fd = open(BANK_DEVICE, O_RDWR);
				if (fd >= 0)
					close(fd);
			}
			_exit(0);
		}
	}
	for (i = 0; i < 2; i++)
		if (reap(p[i], 30000) == -2) {
			if (!stuck)
				obs(0, "3000 open()s and close()s from each of 2 processes at once did not finish in 30 s: is bank_open_lock released on every path?");
			stuck = 1;
			end_stuck(p[i]);
		}
	kill(switcher, SIGKILL);
	waitpid(switcher, NULL, 0);
	if (stuck)
		return;
	fd = dev();
	rc = bank_param_write("lock", "atomic") < 0 ? errno : 0;
	close(fd);
	if (rc != EBUSY) {
		obs(0, "after 6000 open()s and close()s from 2 processes at once, lock=atomic %s with a descriptor open: the count lost an open(): two at once each read and wrote it: count under bank_open_lock",
		    rc ? strerror(rc) : "was accepted");
		return;
	}
	rc = bank_param_write("lock", "mutex") < 0 ? errno : 0;
	if (rc)
		obs(0, "after 6000 open()s and close()s from 2 processes at once, lock=mutex was refused (%s) with every descriptor closed: the count lost an update: two at once each read and wrote it: count under bank_open_lock",
		    strerror(rc));
}

static void task_mode(void)
{
	const char *lock = "bank_open_lock";
	int fd, fd2, rc;
	long deposits = 0, res[2];
	pid_t opener, switcher;
	int64_t start = 1000;
	int pipefd[2];

	/* Every path of open(), release() and lock=, each then probed. */
	if (!setup("mutex", "0", 0) ||
	    !path("lock=", "an open() and a close()", lock, PROBE_OPEN,
		  p_open_close, 0) ||
	    !path("lock=", "a change of lock mode refused while /dev/bank was open (EBUSY)",
		  lock, PROBE_OPEN, p_change_while_open, EBUSY) ||
	    !path("lock=", "a change to an unknown mode (EINVAL)", lock,
		  PROBE_OPEN, p_change_unknown, EINVAL) ||
	    !path("lock=", "a change of lock mode", lock, PROBE_OPEN,
		  p_change, 0))
		return;

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
	concurrent_opens();
	if (failures)
		return;

	/*
	 * open() against lock changes: no deposit may be lost, and the mode
	 * never changes while the opener's descriptor is open (it asks for
	 * the mode, BANK_IOC_GET_STATS, before and after its deposit). One
	 * switcher: the kernel serializes writes to a module's parameters
	 * (kernel_param_lock), so a second would only wait for the first.
	 */
	if (!setup("mutex", "20", start) || pipe(pipefd))
		return;
	opener = lab_fork();
	if (opener == 0) {
		long res[2] = { 0, 0 }, k;
		struct bank_stats before, after;

		alarm(30);
		for (k = 0; k < 1500; k++) {
			fd = open(BANK_DEVICE, O_RDWR);
			if (fd < 0)
				continue;
			if (ioctl(fd, BANK_IOC_GET_STATS, &before) < 0)
				before.lock = -1;
			res[0] += op(fd, BANK_IOC_DEPOSIT, 1) == 0;
			if (ioctl(fd, BANK_IOC_GET_STATS, &after) < 0)
				after.lock = -1;
			res[1] += before.lock != after.lock;
			close(fd);
		}
		if (write(pipefd[1], res, sizeof(res)) != sizeof(res))
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
	kill(switcher, SIGKILL);
	waitpid(switcher, NULL, 0);
	if (rc == -2)
		end_stuck(opener);
	close(pipefd[1]);
	if (rc != 0 ||
	    read(pipefd[0], res, sizeof(res)) != sizeof(res))
		res[0] = -1;
	deposits = res[0];
	close(pipefd[0]);
	if (rc != 0)
		obs(0, "open, deposit, close in a loop while lock= changed: did not finish in 30 s");
	else if (res[1])
		obs(0, "open, deposit, close while lock= changed: the mode changed while a descriptor was open (%ld of 1500 opens saw it): a change checked the count before an open() counted itself, then went on: check the count after taking bank_open_lock, and count under it",
		    res[1]);
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

static int statements(int n)
{
	struct bank_accounts all = { .flags = 0 };
	int fd = dev(), k, ret = 0;

	for (k = 0; k < n && !ret; k++)
		if (ioctl(fd, BANK_IOC_GET_ACCOUNTS, &all) < 0)
			ret = errno;
	close(fd);
	return ret;
}

static const char order_hint[] =
	"take the accounts' locks in ascending account order, whatever the direction of the transfer: the order statements (BANK_IOC_GET_ACCOUNTS: bank_mutex_lock_all(), bank_spin_lock_all()) take every account in, the order bank_lock_order() must give for lock_order=ordered";

/* Transfers in every mode that locks accounts, each path probed. */
static int drive_transfer_paths(const char *mode, const char *lock)
{
	static const struct {
		const char *what;
		int (*fn)(void);
		int want;
	} paths[] = {
		{ "transfers into and out of account 0", p_transfers, 0 },
		{ "a transfer refused for want of funds (EAGAIN)",
		  p_transfer_refused, EAGAIN },
		{ "a transfer refused for overflow (EOVERFLOW)",
		  p_transfer_overflow, EOVERFLOW },
	};
	unsigned int i;

	if (!setup(mode, "0", 200))
		return 0;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (!path(mode, paths[i].what, lock, PROBE_TRANSFER,
			  paths[i].fn, paths[i].want))
			return 0;
	return 1;
}

static void task_order(void)
{
	struct bank_accounts all = { .flags = 0 };
	long long sum = 0;
	struct pstate ps[3];
	pid_t p[3];
	int rc[3], i, stuck = 0;
	uint32_t k;

	if (bank_param_write("lock_order", "ordered") < 0) {
		obs(0, "lock_order=ordered refused: %s", strerror(errno));
		return;
	}
	if (!drive_transfer_paths("mutex", "the accounts' mutexes") ||
	    !drive_transfer_paths("spinlock", "the accounts' spinlocks"))
		return;
	if (!setup("mutex", "0", 200))
		return;
	/* One at a time: lockdep (debug kernel) still sees the two orders. */
	if (transfers(1, 2, 1) || transfers(2, 1, 1) || statements(1)) {
		obs(0, "a transfer between accounts 1 and 2 failed: %s",
		    strerror(errno));
		return;
	}
	/*
	 * Opposite transfers and statements at once, a delay between a
	 * transfer's two locks: any two orders that differ meet here.
	 */
	if (bank_param_write("delay_us", "2000") < 0)
		return;
	/* Statements first, and for as long as the transfers go on. */
	for (i = 2; i >= 0; i--) {
		p[i] = lab_fork();
		if (p[i] == 0) {
			alarm(30);
			if (i == 2)
				for (;;)
					if (statements(1))
						_exit(1);
			_exit(i == 0 ? transfers(1, 2, 100) : transfers(2, 1, 100));
		}
	}
	/* A waiter that woke up in a whole second is not deadlocked. */
	for (i = 0; i < 2 && !stuck; i++) {
		rc[i] = watch(p[i], 30000, 1000, &ps[i]);
		stuck = rc[i] == -2;
	}
	for (; i < 2; i++) {
		rc[i] = -2;
		pstate_read(p[i], &ps[i], 1);
	}
	/* The statements: stuck too, or still going, or ended by an error. */
	rc[2] = reap(p[2], 0);
	if (rc[2] == -2) {
		pstate_read(p[2], &ps[2], 1);
		if (!stuck)
			rc[2] = 0;
	}
	for (i = 0; i < 3; i++) {
		kill(p[i], SIGKILL);
		if (rc[i] == -2)
			end_stuck(p[i]);
		else
			waitpid(p[i], NULL, 0);
	}
	if (call(BANK_IOC_GET_ACCOUNTS, &all) == 0)
		for (k = 0; k < all.count; k++)
			sum += all.balances[k];
	if (stuck)
		obs(0, "transfers 1->2, 2->1 and statements at the same time stopped for good (1->2: %s; 2->1: %s; statements: %s): a deadlock: %s",
		    rc[0] == -2 ? pstate_str(&ps[0]) : "done",
		    rc[1] == -2 ? pstate_str(&ps[1]) : "done",
		    rc[2] == -2 ? pstate_str(&ps[2]) : "done",
		    order_hint);
	else if (rc[0] || rc[1] || rc[2])
		obs(0, "transfers 1->2 and 2->1 and statements failed: %s",
		    err_name(rc[0] ? rc[0] : rc[1] ? rc[1] : rc[2]));
	else if (sum != 200LL * all.count)
		obs(0, "transfers 1->2 and 2->1: the accounts add up to %lld, not %lld",
		    sum, 200LL * all.count);
	else
		obs(1, "200 transfers 1->2 and 2->1 and statements all the while: no deadlock, no money lost");
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
	if (wedged) {
		printf("LAB-WEDGED a process is stuck in the kernel for good\n");
		return 3;
	}
	bank_param_write("delay_us", "0");
	return failures ? 1 : 0;
}
