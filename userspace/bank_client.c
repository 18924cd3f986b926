// SPDX-License-Identifier: GPL-2.0
/* Helpers shared by kbank's programs: see bank_client.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "bank_client.h"

const char *progname = "bank";

void set_progname(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	progname = slash ? slash + 1 : argv0;
}

void warn_errno(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", progname, what, strerror(errno));
}

void die_errno(const char *what)
{
	warn_errno(what);
	exit(EXIT_CALL);
}

void die_bank_errno(const char *what)
{
	int err = errno;

	warn_errno(what);
	if (err == ENOENT && access("/sys/module/bank", F_OK) != 0)
		fprintf(stderr, "%s: bank.ko is not loaded: load it with "
			"'insmod module/bank.ko' (as root), or try kbank in its "
			"VM: make vm-shell\n", progname);
	else if (err == EACCES)
		fprintf(stderr, "%s: only root may do this, unless "
			"udev/99-bank.rules is installed (for the device)\n",
			progname);
	exit(EXIT_CALL);
}

void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", progname);
	exit(EXIT_USAGE);
}

bool parse_s64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

bool parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > 3600)
		return false;
	*out = v;
	return true;
}

const char *bank_lock_name(uint32_t lock)
{
	static const char *const names[] = {
		[BANK_LOCK_NONE] = "none",
		[BANK_LOCK_SPINLOCK] = "spinlock",
		[BANK_LOCK_MUTEX] = "mutex",
		[BANK_LOCK_ATOMIC] = "atomic",
	};

	return lock < sizeof(names) / sizeof(names[0]) ? names[lock] : "?";
}

const char *bank_statement_name(uint32_t statement)
{
	static const char *const names[] = {
		[BANK_STATEMENT_LOCKS] = "locks",
		[BANK_STATEMENT_NONE] = "none",
		[BANK_STATEMENT_RWLOCK] = "rwlock",
		[BANK_STATEMENT_RWSEM] = "rwsem",
		[BANK_STATEMENT_SEQLOCK] = "seqlock",
		[BANK_STATEMENT_RCU] = "rcu",
	};

	return statement < sizeof(names) / sizeof(names[0]) ? names[statement] : "?";
}

int bank_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	char what[PATH_MAX + 16];

	if (fd < 0) {
		snprintf(what, sizeof(what), "open %s", path);
		die_bank_errno(what);
	}
	return fd;
}

void bank_ioctl_or_die(int fd, unsigned long cmd, void *arg, const char *name)
{
	if (ioctl(fd, cmd, arg) < 0)
		die_errno(name);
}

int bank_param_read(const char *name, char *buf, size_t size)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", BANK_PARAMS, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

int bank_param_write(const char *name, const char *value)
{
	char path[256];
	ssize_t n;
	int fd, saved;

	snprintf(path, sizeof(path), "%s/%s", BANK_PARAMS, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, value, strlen(value));
	saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 0;
}

/*
 * Say on the console when the module uses less delay than asked: the
 * spinlock's holder busy-waits at most 1000 us, and the kernel log, where
 * the module says so, is not where a student looks.
 */
static void bank_note_delay(const char *asked)
{
	struct bank_stats st;
	int fd = open(BANK_DEVICE, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (ioctl(fd, BANK_IOC_GET_STATS, &st) == 0 &&
	    strtoul(asked, NULL, 10) != st.delay_us)
		fprintf(stderr, "%s: delay_us=%s: lock %s uses %u (a spinlock holder busy-waits at most 1000 us)\n",
			program_invocation_short_name, asked,
			bank_lock_name(st.lock), st.delay_us);
	close(fd);
}

void bank_configure(const char *lock, const char *delay_us,
		    struct bank_saved *saved)
{
	struct bank_saved old = { "", "" };

	if (saved) {
		if (lock && bank_param_read("lock", old.lock, sizeof(old.lock)) < 0)
			die_bank_errno("read " BANK_PARAMS "/lock");
		if (delay_us && bank_param_read("delay_us", old.delay_us,
						sizeof(old.delay_us)) < 0)
			die_bank_errno("read " BANK_PARAMS "/delay_us");
	}
	if (lock && bank_param_write("lock", lock) < 0)
		die_bank_errno("write " BANK_PARAMS "/lock");
	if (delay_us && bank_param_write("delay_us", delay_us) < 0) {
		int err = errno;

		/* Leave nothing half done: the lock as it was. */
		old.delay_us[0] = '\0';
		if (saved)
			bank_restore(&old);
		errno = err;
		die_bank_errno("write " BANK_PARAMS "/delay_us");
	}
	if (delay_us)
		bank_note_delay(delay_us);
	if (saved)
		*saved = old;
}

int bank_restore(const struct bank_saved *saved)
{
	int ret = 0;

	if (saved->delay_us[0] &&
	    bank_param_write("delay_us", saved->delay_us) < 0) {
		warn_errno("restore " BANK_PARAMS "/delay_us");
		ret = -1;
	}
	if (saved->lock[0] && bank_param_write("lock", saved->lock) < 0) {
		warn_errno("restore " BANK_PARAMS "/lock");
		ret = -1;
	}
	return ret;
}

void sleep_seconds(double seconds)
{
	struct timespec ts;

	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void bank_catch_signals(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
