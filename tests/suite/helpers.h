/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the suite's programs share: the device and its module parameters,
 * bank.ko loaded and unloaded, the programs beside this one, processes
 * that hammer the device, the lock modes as fixture variants, and main().
 *
 * Each program runs inside kbank's VM (or natively) as root, with bank.ko
 * from /kbank/bank.ko (KBANK_KO overrides) and the other programs in its
 * own directory. A helper's ASSERT ends the test that called it.
 */
#ifndef SUITE_HELPERS_H
#define SUITE_HELPERS_H

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>

#include "bank_client.h"
#include "harness.h"

/* Every lock mode: a TEST_F(lock_mode, name) runs as name.none ... */
FIXTURE(lock_mode);
FIXTURE_VARIANT(lock_mode) {
	const char *lock;
};
FIXTURE_VARIANT_ADD(lock_mode, none) { .lock = "none" };
FIXTURE_VARIANT_ADD(lock_mode, spinlock) { .lock = "spinlock" };
FIXTURE_VARIANT_ADD(lock_mode, mutex) { .lock = "mutex" };
FIXTURE_VARIANT_ADD(lock_mode, atomic) { .lock = "atomic" };

/* The modes that lock: a TEST_F(locked_mode, name) skips none. */
FIXTURE(locked_mode);
FIXTURE_VARIANT(locked_mode) {
	const char *lock;
};
FIXTURE_VARIANT_ADD(locked_mode, spinlock) { .lock = "spinlock" };
FIXTURE_VARIANT_ADD(locked_mode, mutex) { .lock = "mutex" };
FIXTURE_VARIANT_ADD(locked_mode, atomic) { .lock = "atomic" };

static inline int dev_open(int flags)
{
	int fd = open(BANK_DEVICE, flags | O_CLOEXEC);

	ASSERT_TRUE(fd >= 0);
	return fd;
}

static inline struct bank_stats get_stats(void)
{
	struct bank_stats st;
	int fd = dev_open(O_RDONLY);

	memset(&st, 0xff, sizeof(st));
	ASSERT_EQ(ioctl(fd, BANK_IOC_GET_STATS, &st), 0);
	close(fd);
	return st;
}

static inline int64_t get_balance(void)
{
	int64_t b = -1;
	int fd = dev_open(O_RDONLY);

	ASSERT_EQ(ioctl(fd, BANK_IOC_GET_BALANCE, &b), 0);
	close(fd);
	return b;
}

/* Switch to @mode with delay_us 0 and the balance at @start (no fd open). */
static inline void setup(const char *mode, int64_t start)
{
	int fd;

	ASSERT_EQ(bank_param_write("lock", mode), 0);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
	fd = dev_open(O_RDWR);
	ASSERT_EQ(ioctl(fd, BANK_IOC_SET_BALANCE, &start), 0);
	close(fd);
	ASSERT_TRUE(strcmp(bank_lock_name(get_stats().lock), mode) == 0);
}

/* One deposit or withdrawal: 0, or the errno it failed with. */
static inline int op(int fd, unsigned long cmd, int64_t amount, int64_t *balance)
{
	struct bank_op o = { .amount = amount, .balance = -1 };

	if (ioctl(fd, cmd, &o) < 0)
		return errno;
	if (balance)
		*balance = o.balance;
	return 0;
}

/* The balance and every counter are as they were. */
static inline void expect_unchanged(const struct bank_stats *before)
{
	struct bank_stats now = get_stats();

	EXPECT_EQ(now.balance, before->balance);
	EXPECT_EQ(now.expected, before->expected);
	EXPECT_EQ(now.deposits, before->deposits);
	EXPECT_EQ(now.withdrawals, before->withdrawals);
}

static inline const char *ko_path(void)
{
	const char *p = getenv("KBANK_KO");

	return p ? p : "/kbank/bank.ko";
}

/* Load bank.ko with @params: 0, or the errno finit_module failed with. */
static inline int mod_load(const char *params)
{
	int fd = open(ko_path(), O_RDONLY | O_CLOEXEC), ret = 0;

	ASSERT_TRUE(fd >= 0);
	if (syscall(SYS_finit_module, fd, params, 0) < 0)
		ret = errno;
	close(fd);
	return ret;
}

/* Unload bank.ko: 0, or the errno delete_module failed with. */
static inline int mod_unload(void)
{
	return syscall(SYS_delete_module, "bank", O_NONBLOCK) < 0 ? errno : 0;
}

static inline void reload(const char *params)
{
	ASSERT_EQ(mod_unload(), 0);
	ASSERT_EQ(mod_load(params), 0);
}

static inline int module_loaded(void)
{
	return access("/sys/module/bank", F_OK) == 0;
}

/* The path of a program next to this one (until the next call). */
static inline const char *prog(const char *name)
{
	static char path[PATH_MAX + 64];
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	ASSERT_TRUE(n > 0);
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(path, sizeof(path), "%s/%s", self, name);
	return path;
}

/* Run a command line, return its exit status (-1 if it did not exit). */
static inline int run(const char *cmd)
{
	int status = system(cmd);

	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait until stats.waits reaches @n: a withdrawer is asleep for funds. */
static inline void wait_for_waiters(uint64_t n)
{
	int i;

	for (i = 0; i < 1000 && get_stats().waits < n; i++)
		sleep_ms(5);
	ASSERT_EQ(get_stats().waits, n);
	/* It counted itself before sleeping: let it reach the wait queue. */
	sleep_ms(50);
}

/* Read a one-line file into @buf; return 0 or -1. */
static inline int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	int ret = -1;

	if (!f)
		return -1;
	if (fgets(buf, (int)size, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		ret = 0;
	}
	fclose(f);
	return ret;
}

/* The running kernel is @major.@minor or later. */
static inline int kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	ASSERT_EQ(uname(&u), 0);
	sscanf(u.release, "%d.%d", &ma, &mi);
	return ma > major || (ma == major && mi >= minor);
}

/*
 * @procs processes each do @ops operations of 1, alternating deposit and
 * withdraw (withdrawals non-blocking when @nonblock: EAGAIN is then counted,
 * not fatal). Returns the number of EAGAINs seen; fails the test if any
 * process fails otherwise.
 */
static inline long hammer(int procs, long ops, int nonblock)
{
	int pipefd[2], i, status;
	long total = 0, eagain;

	ASSERT_EQ(pipe(pipefd), 0);
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		ASSERT_TRUE(pid >= 0);
		if (pid == 0) {
			int fd = dev_open(O_RDWR | (nonblock ? O_NONBLOCK : 0));
			long j, n = 0;

			for (j = 0; j < ops; j++) {
				int e = op(fd, (j & 1) ? BANK_IOC_WITHDRAW
						       : BANK_IOC_DEPOSIT, 1, NULL);
				if (e == EAGAIN && nonblock)
					n++;
				else if (e)
					_exit(1);
			}
			if (write(pipefd[1], &n, sizeof(n)) != sizeof(n))
				_exit(1);
			_exit(0);
		}
	}
	close(pipefd[1]);
	for (i = 0; i < procs; i++) {
		ASSERT_TRUE(wait(&status) > 0);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	while (read(pipefd[0], &eagain, sizeof(eagain)) == sizeof(eagain))
		total += eagain;
	close(pipefd[0]);
	return total;
}

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait up to @ms for @pid to end: its wait status, or -1 if it did not. */
static inline int wait_bounded(pid_t pid, long ms)
{
	long long end = now_ms() + ms;
	int status;

	do {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		sleep_ms(5);
	} while (now_ms() < end);
	return -1;
}

static inline struct bank_accounts get_accounts(void)
{
	struct bank_accounts all;
	int fd = dev_open(O_RDONLY);

	memset(&all, 0xff, sizeof(all));
	all.flags = 0;
	ASSERT_EQ(ioctl(fd, BANK_IOC_GET_ACCOUNTS, &all), 0);
	close(fd);
	return all;
}

static inline long long accounts_total(const struct bank_accounts *all)
{
	long long sum = 0;
	uint32_t i;

	for (i = 0; i < all->count && i < BANK_ACCOUNTS_MAX; i++)
		sum += all->balances[i];
	return sum;
}

/* A transfer: 0, or the errno it failed with. */
static inline int xfer(int fd, uint32_t from, uint32_t to, int64_t amount,
		struct bank_transfer *out)
{
	struct bank_transfer t = { .from = from, .to = to, .amount = amount };

	if (ioctl(fd, BANK_IOC_TRANSFER, &t) < 0)
		return errno;
	if (out)
		*out = t;
	return 0;
}

/* Every account as it was. */
static inline void expect_accounts_unchanged(const struct bank_accounts *before)
{
	struct bank_accounts now = get_accounts();

	EXPECT_EQ(now.count, before->count);
	EXPECT_TRUE(memcmp(now.balances, before->balances,
			   sizeof(now.balances[0]) * now.count) == 0);
}

/*
 * main() of each program: @what says what it tests (--help). Loads
 * bank.ko unless it is loaded, then runs the tests the arguments select.
 */
static inline int suite_main(int argc, char **argv, const char *what)
{
	int first, fd;

	set_progname(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	first = th_options(argc, argv, what);
	if (!module_loaded()) {
		fd = open(ko_path(), O_RDONLY | O_CLOEXEC);
		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0) {
			fprintf(stderr, "%s: %s %s: %s\n", progname,
				fd < 0 ? "open" : "finit_module", ko_path(),
				strerror(errno));
			printf("Bail out! cannot load %s\n", ko_path());
			return 1;
		}
		close(fd);
	}
	return th_run_all(argc - first, argv + first);
}

#define SUITE_MAIN(what) \
	int main(int argc, char **argv) { return suite_main(argc, argv, what); }

#endif /* SUITE_HELPERS_H */
