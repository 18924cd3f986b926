// SPDX-License-Identifier: GPL-2.0
/*
 * bank-statement: statements read while transfers run. N processes take
 * statements (BANK_IOC_GET_ACCOUNTS) and M processes move money between
 * random accounts, for a while; then it prints how many statements and
 * transfers went through per second, how long a transfer took (its wait
 * for the locks, mostly), the torn statements (whose total was not the
 * bank's) and the seqlock's retries, under the strategy of the parameter
 * "statement" in force.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bank_client.h"

#define MAX_PROCS	64
/* Transfer times kept per process: enough for the median and the 99th. */
#define MAX_SAMPLES	(1 << 18)

static void usage(void)
{
	printf("Usage: %s [OPTION]...\n"
	       "Take statements of bank.ko's accounts in READERS processes while WRITERS\n"
	       "processes transfer money between them, and say what each side got.\n"
	       "\n"
	       "  -s, --statement=HOW   first set statement: locks, none, rwlock, rwsem,\n"
	       "                        seqlock or rcu (root, device closed)\n"
	       "  -m, --lock=MODE       first set the lock mode (root, device closed)\n"
	       "  -D, --delay=US        first set delay_us (root)\n"
	       "  -r, --readers=N       processes taking statements (default 2, 0 to %d)\n"
	       "  -w, --writers=N       processes transferring (default 2, 0 to %d)\n"
	       "  -t, --seconds=S       how long (default 2)\n"
	       "  -c, --csv             one line of comma-separated values, no header:\n"
	       "                        statement,lock,readers,writers,statements_per_s,\n"
	       "                        transfers_per_s,wait_median_us,wait_p99_us,\n"
	       "                        wait_max_us,torn,kernel_torn,retries,fallbacks,\n"
	       "                        copies,copy_waits\n"
	       "  -d, --device=PATH     the device (default " BANK_DEVICE ")\n"
	       "  -h, --help            this help\n"
	       "\n"
	       "A statement is torn when its accounts do not add up to the bank's total,\n"
	       "taken before the run: only transfers run, and they move money, they never\n"
	       "make it, so no other process may deposit or withdraw meanwhile. The\n"
	       "kernel judges every statement too (kernel_torn, BANK_IOC_GET_READERS).\n"
	       "The statement, lock and delay_us it set are put back when it ends.\n"
	       "Exit status: 0 done, 3 a torn statement under a strategy and lock mode\n"
	       "that promise none (all but strategy none, lock modes none and atomic),\n"
	       "1 a call failed, 2 bad usage.\n", progname, MAX_PROCS, MAX_PROCS);
}

/* Shared with the workers: what each has done. */
struct shared {
	atomic_long statements[MAX_PROCS];
	atomic_long torn[MAX_PROCS];
	atomic_long transfers[MAX_PROCS];
	atomic_long samples[MAX_PROCS];
	atomic_int failed;
	long ns[MAX_PROCS][MAX_SAMPLES];	/* each transfer's time */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One statement, and its total in @sum: 0, or -1 with errno set. */
static int statement_total(int fd, struct bank_accounts *all, long long *sum)
{
	uint32_t i;

	memset(all, 0, sizeof(*all));
	if (ioctl(fd, BANK_IOC_GET_ACCOUNTS, all) < 0)
		return -1;
	*sum = 0;
	for (i = 0; i < all->count && i < BANK_ACCOUNTS_MAX; i++)
		*sum += all->balances[i];
	return 0;
}

static void reader(struct shared *sh, int k, const char *dev, long long end,
		   long long total)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	struct bank_accounts all;

	if (fd < 0) {
		warn_errno(dev);
		sh->failed = 1;
		_exit(EXIT_CALL);
	}
	while (!stop && now_ns() < end) {
		long long sum;

		if (statement_total(fd, &all, &sum) < 0) {
			if (errno == EINTR)
				break;
			warn_errno("ioctl BANK_IOC_GET_ACCOUNTS");
			sh->failed = 1;
			_exit(EXIT_CALL);
		}
		sh->statements[k]++;
		if (sum != total)
			sh->torn[k]++;
	}
	_exit(0);
}

static void writer(struct shared *sh, int k, const char *dev, long long end,
		   uint32_t n)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		warn_errno(dev);
		sh->failed = 1;
		_exit(EXIT_CALL);
	}
	srandom((unsigned int)getpid());
	while (!stop && now_ns() < end) {
		struct bank_transfer t = { .amount = 1 + random() % 20 };
		long long t0;
		long s;

		t.from = (uint32_t)(random() % n);
		t.to = (t.from + 1 + (uint32_t)(random() % (n - 1))) % n;
		t0 = now_ns();
		if (ioctl(fd, BANK_IOC_TRANSFER, &t) < 0 && errno != EAGAIN) {
			if (errno == EINTR)
				break;
			warn_errno("ioctl BANK_IOC_TRANSFER");
			sh->failed = 1;
			_exit(EXIT_CALL);
		}
		s = sh->samples[k]++;
		if (s < MAX_SAMPLES)
			sh->ns[k][s] = (long)(now_ns() - t0);
		sh->transfers[k]++;
	}
	_exit(0);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "statement", required_argument, NULL, 's' },
		{ "lock", required_argument, NULL, 'm' },
		{ "delay", required_argument, NULL, 'D' },
		{ "readers", required_argument, NULL, 'r' },
		{ "writers", required_argument, NULL, 'w' },
		{ "seconds", required_argument, NULL, 't' },
		{ "csv", no_argument, NULL, 'c' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *statement = NULL, *lock = NULL, *delay = NULL;
	const char *dev = BANK_DEVICE;
	char old_statement[32] = "", buf[32];
	int64_t readers = 2, writers = 2;
	long nsamples = 0, *all_ns, *p;
	struct bank_readers kr, kr0;
	struct bank_accounts all;
	struct bank_saved saved;
	long long total, start, end, elapsed;
	long statements = 0, torn = 0, transfers = 0;
	double seconds = 2, median = 0, p99 = 0, max = 0;
	int csv = 0, opt, fd, i, status, rc = 0, promise;
	struct bank_stats st;
	struct shared *sh;

	set_progname(argv[0]);
	while ((opt = getopt_long(argc, argv, "s:m:D:r:w:t:cd:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			statement = optarg;
			break;
		case 'm':
			lock = optarg;
			break;
		case 'D':
			delay = optarg;
			break;
		case 'r':
			if (!parse_s64(optarg, &readers) || readers < 0 || readers > MAX_PROCS)
				die_usage("--readers=%s: 0 to %d", optarg, MAX_PROCS);
			break;
		case 'w':
			if (!parse_s64(optarg, &writers) || writers < 0 || writers > MAX_PROCS)
				die_usage("--writers=%s: 0 to %d", optarg, MAX_PROCS);
			break;
		case 't':
			if (!parse_seconds(optarg, &seconds) || seconds <= 0)
				die_usage("--seconds=%s: a positive number of seconds", optarg);
			break;
		case 'c':
			csv = 1;
			break;
		case 'd':
			dev = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			die_usage("unknown option");
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);

	bank_catch_signals(on_signal);
	/* statement=locks first: it goes with every mode, so the mode can change. */
	if (statement) {
		if (bank_param_read("statement", old_statement, sizeof(old_statement)) < 0)
			die_bank_errno("read " BANK_PARAMS "/statement");
		if (bank_param_write("statement", "locks") < 0)
			die_bank_errno("write " BANK_PARAMS "/statement");
	}
	bank_configure(lock, delay, &saved);
	if (statement && bank_param_write("statement", statement) < 0) {
		int err = errno;

		bank_restore(&saved);
		bank_param_write("statement", old_statement);
		errno = err;
		die_bank_errno("write " BANK_PARAMS "/statement");
	}

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die_errno("mmap");
	fd = bank_open(dev, O_RDONLY);
	if (statement_total(fd, &all, &total) < 0)
		die_bank_errno("ioctl BANK_IOC_GET_ACCOUNTS");
	if (writers && all.count < 2)
		die_usage("transfers need two accounts; load bank.ko with accounts=2 or more");
	/* The counters start from here: its own statement counted too. */
	bank_ioctl_or_die(fd, BANK_IOC_GET_READERS, &kr, "ioctl BANK_IOC_GET_READERS");
	kr0 = kr;
	start = now_ns();
	end = start + (long long)(seconds * 1e9);
	for (i = 0; i < readers + writers; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die_errno("fork");
		if (pid == 0) {
			if (i < readers)
				reader(sh, i, dev, end, total);
			writer(sh, i, dev, end, all.count);
		}
	}
	for (i = 0; i < readers + writers; i++) {
		while (wait(&status) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			rc = EXIT_CALL;
	}
	elapsed = now_ns() - start;
	bank_ioctl_or_die(fd, BANK_IOC_GET_READERS, &kr, "ioctl BANK_IOC_GET_READERS");
	bank_ioctl_or_die(fd, BANK_IOC_GET_STATS, &st, "ioctl BANK_IOC_GET_STATS");
	close(fd);

	for (i = 0; i < readers + writers; i++) {
		statements += sh->statements[i];
		torn += sh->torn[i];
		transfers += sh->transfers[i];
		nsamples += sh->samples[i] < MAX_SAMPLES ? sh->samples[i] : MAX_SAMPLES;
	}
	all_ns = calloc(nsamples ? nsamples : 1, sizeof(*all_ns));
	if (!all_ns)
		die_errno("calloc");
	p = all_ns;
	for (i = readers; i < readers + writers; i++) {
		long k = sh->samples[i] < MAX_SAMPLES ? sh->samples[i] : MAX_SAMPLES;

		memcpy(p, sh->ns[i], k * sizeof(*p));
		p += k;
	}
	if (nsamples) {
		qsort(all_ns, nsamples, sizeof(*all_ns), cmp_long);
		median = all_ns[nsamples / 2] / 1000.0;
		p99 = all_ns[(nsamples * 99) / 100] / 1000.0;
		max = all_ns[nsamples - 1] / 1000.0;
	}
	free(all_ns);

	if (bank_param_read("statement", buf, sizeof(buf)) < 0)
		die_bank_errno("read " BANK_PARAMS "/statement");
	if (csv) {
		printf("%s,%s,%lld,%lld,%.0f,%.0f,%.1f,%.1f,%.1f,%ld,%llu,%llu,%llu,%llu,%llu\n",
		       buf, bank_lock_name(st.lock), (long long)readers,
		       (long long)writers, statements * 1e9 / elapsed,
		       transfers * 1e9 / elapsed, median, p99, max, torn,
		       (unsigned long long)(kr.torn - kr0.torn),
		       (unsigned long long)(kr.retries - kr0.retries),
		       (unsigned long long)(kr.fallbacks - kr0.fallbacks),
		       (unsigned long long)(kr.copies - kr0.copies),
		       (unsigned long long)(kr.copy_waits - kr0.copy_waits));
	} else {
		printf("statement=%s lock=%s delay_us=%u accounts=%u: %lld readers, %lld writers, %.1f s\n",
		       buf, bank_lock_name(st.lock), st.delay_us, all.count,
		       (long long)readers, (long long)writers, elapsed / 1e9);
		printf("statements/s %.0f, transfers/s %.0f, transfer time median %.1f us, p99 %.1f us, max %.1f us\n",
		       statements * 1e9 / elapsed, transfers * 1e9 / elapsed,
		       median, p99, max);
		printf("torn %ld (the kernel: %llu), retries %llu, fallbacks %llu, copies %llu (%llu waited for a grace period)\n",
		       torn, (unsigned long long)(kr.torn - kr0.torn),
		       (unsigned long long)(kr.retries - kr0.retries),
		       (unsigned long long)(kr.fallbacks - kr0.fallbacks),
		       (unsigned long long)(kr.copies - kr0.copies),
		       (unsigned long long)(kr.copy_waits - kr0.copy_waits));
	}

	if (statement) {
		if (bank_param_write("statement", "locks") < 0)
			warn_errno("restore " BANK_PARAMS "/statement");
	}
	if (bank_restore(&saved) < 0)
		rc = EXIT_CALL;
	if (statement && bank_param_write("statement", old_statement) < 0) {
		warn_errno("restore " BANK_PARAMS "/statement");
		rc = EXIT_CALL;
	}
	if (sh->failed)
		rc = EXIT_CALL;
	promise = strcmp(buf, "none") != 0 && st.lock != BANK_LOCK_NONE &&
		  st.lock != BANK_LOCK_ATOMIC;
	if (!rc && promise && (torn || kr.torn != kr0.torn)) {
		fprintf(stderr, "%s: torn statements under statement=%s lock=%s\n",
			progname, buf, bank_lock_name(st.lock));
		rc = EXIT_WRONG;
	}
	return rc;
}
