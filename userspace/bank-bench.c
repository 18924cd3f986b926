// SPDX-License-Identifier: GPL-2.0
/*
 * bank-bench: one measurement, one CSV row, in the style of will-it-scale.
 *
 * N worker processes run the same operation in a loop. Each counts its
 * operations in its own cache line of shared memory; they start together
 * (a pipe closed by the parent); the parent discards a warm-up, then takes
 * several timed samples of the counters and reports the median rate with
 * its spread, the fairness (slowest worker / fastest) and the workers' CPU
 * time per operation (getrusage of the children). For the bank operations
 * it also reads the module's counters: the contended fraction and, in lock
 * mode none, the fraction of updates lost.
 *
 * It puts back what it changed in bank.ko when it ends, on Ctrl-C, SIGTERM
 * and SIGHUP too, and when a call fails: the lock mode, delay_us and the
 * balances of the accounts it used.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bank_client.h"

#define MAX_WORKERS	64
#define MAX_SAMPLES	64
#define CACHELINE	64

/*
 * The balance every account used starts from. A run moves 1 per operation,
 * so it would take 10^6 s at 10^9 operations a second (more than any
 * machine does) to empty an account, even in mode none, where lost updates
 * let balances drift; and BENCH_ACCOUNTS times it stays far below S64_MAX
 * (9.2 x 10^18), so that account 0 can fund the others without overflow.
 * An EAGAIN (an empty account) is then never expected: it fails the run.
 */
#define FUND		1000000000000000LL

/* Transfers use accounts 0 to 3 (fewer if the module has fewer). */
#define BENCH_ACCOUNTS	4

/* An unknown command: the cheapest round trip through bank_ioctl(). */
#define BANK_IOC_NULL	_IO(BANK_IOC_MAGIC, 0x3f)

enum bench {
	B_DEPOSIT, B_ALT, B_BATCH, B_GETPPID, B_NULLIOCTL, B_PTHREAD, B_ATOMIC,
	B_PAIRED, B_TRANSFER,
};

static const char *const bench_names[] = {
	[B_DEPOSIT] = "deposit", [B_ALT] = "alt", [B_BATCH] = "batch",
	[B_GETPPID] = "getppid", [B_NULLIOCTL] = "null_ioctl",
	[B_PTHREAD] = "pthread_mutex", [B_ATOMIC] = "c11_atomic",
	[B_PAIRED] = "paired", [B_TRANSFER] = "transfer",
};

/* One worker's counter, alone in its cache line: no false sharing. */
struct slot {
	_Atomic uint64_t ops;
} __attribute__((aligned(CACHELINE)));

/* What the workers share, in one MAP_SHARED mapping. */
struct shared {
	_Atomic int stop __attribute__((aligned(CACHELINE)));
	/* The notebook's design in userspace: a balance and its lock. */
	pthread_mutex_t mutex __attribute__((aligned(CACHELINE)));
	int64_t balance;
	_Atomic int64_t abalance __attribute__((aligned(CACHELINE)));
	struct slot slot[MAX_WORKERS];
};

static enum bench bench = B_ALT;
/* What paired alternates with the null ioctl: B_DEPOSIT, B_TRANSFER, B_BATCH. */
static enum bench paired_op = B_DEPOSIT;
static const char *device = BANK_DEVICE;
static int batch_size = 1;
static unsigned int transfer_accounts = BENCH_ACCOUNTS;

/* Set by SIGINT, SIGTERM, SIGHUP in the parent: end the run, then restore. */
static volatile sig_atomic_t got_signal;

/* What this run changed in bank.ko, to put back when it ends. */
static struct {
	pid_t pid;		/* the parent's: a worker's exit restores nothing */
	bool configured;	/* params holds the lock and delay_us to restore */
	struct bank_saved params;
	int fd;			/* the parent's descriptor, -1 when closed */
	unsigned int naccts;	/* accounts 0 to naccts - 1 have a saved balance */
	int64_t balance[BENCH_ACCOUNTS];
	struct shared *sh;	/* the workers' memory, once they are started */
	bool finished;
} run = { .fd = -1 };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	got_signal = sig;
}

/*
 * Sleep @ms, or less when a signal asks the run to end: in steps of at most
 * 100 ms, so that a signal that lands between the test and nanosleep() is
 * seen that much later at worst.
 */
static void sleep_ms(int ms)
{
	while (ms > 0 && !got_signal) {
		int step = ms < 100 ? ms : 100;
		struct timespec ts = { 0, step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void swap_accounts(struct bank_transfer *t)
{
	uint32_t from = t->from;

	t->from = t->to;
	t->to = from;
}

static void worker(struct shared *sh, int id, int start_fd)
{
	struct slot *me = &sh->slot[id];
	int64_t amounts[BANK_BATCH_MAX];
	struct bank_batch bt = { 0 };
	struct bank_op op = { 0 };
	/*
	 * Worker i moves 1 between accounts i and i + 1 of 4, back and forth:
	 * with a lock, no account ever moves more than 1 per worker from FUND.
	 */
	struct bank_transfer tr = {
		.from = id % transfer_accounts,
		.to = (id + 1) % transfer_accounts,
	};
	uint64_t n = 0;
	char c;
	int fd = -1, i;

	/*
	 * The parent's handlers are for the parent: a worker dies of these
	 * signals (the parent then stops the others and restores), and dies
	 * with the parent, even by SIGKILL, rather than run on forever.
	 */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		die_errno("prctl PR_SET_PDEATHSIG");
	if (getppid() != run.pid)
		_exit(EXIT_CALL);

	if (bench == B_DEPOSIT || bench == B_ALT || bench == B_BATCH ||
	    bench == B_NULLIOCTL || bench == B_TRANSFER)
		fd = bank_open(device, O_RDWR | O_NONBLOCK);
	for (i = 0; i < batch_size; i++)
		amounts[i] = (i & 1) ? -1 : 1;
	bt.amounts = (uintptr_t)amounts;
	bt.count = batch_size;

	/* The common start: every worker blocks until the pipe closes. */
	if (read(start_fd, &c, 1) < 0)
		die_errno("read start pipe");

	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		int64_t sign = (n & 1) ? -1 : 1;

		switch (bench) {
		case B_DEPOSIT:
			op.amount = 1;
			bank_ioctl_or_die(fd, BANK_IOC_DEPOSIT, &op,
					  "ioctl BANK_IOC_DEPOSIT");
			n++;
			break;
		case B_ALT:
			op.amount = 1;
			bank_ioctl_or_die(fd, sign > 0 ? BANK_IOC_DEPOSIT
							: BANK_IOC_WITHDRAW,
					  &op, "ioctl BANK_IOC_WITHDRAW");
			n++;
			break;
		case B_BATCH:
			/* A batch of one alternates from call to call. */
			if (batch_size == 1)
				amounts[0] = sign;
			bank_ioctl_or_die(fd, BANK_IOC_BATCH, &bt,
					  "ioctl BANK_IOC_BATCH");
			n += batch_size;
			break;
		case B_GETPPID:
			syscall(SYS_getppid);
			n++;
			break;
		case B_NULLIOCTL:
			if (ioctl(fd, BANK_IOC_NULL) == 0 || errno != ENOTTY)
				die_errno("ioctl BANK_IOC_NULL");
			n++;
			break;
		case B_PTHREAD:
			pthread_mutex_lock(&sh->mutex);
			sh->balance += sign;
			pthread_mutex_unlock(&sh->mutex);
			n++;
			break;
		case B_ATOMIC:
			atomic_fetch_add_explicit(&sh->abalance, sign,
						  memory_order_relaxed);
			n++;
			break;
		case B_TRANSFER:
			tr.amount = 1;
			bank_ioctl_or_die(fd, BANK_IOC_TRANSFER, &tr,
					  "ioctl BANK_IOC_TRANSFER");
			swap_accounts(&tr);
			n++;
			break;
		case B_PAIRED:	/* runs in the parent: see paired() */
			_exit(EXIT_USAGE);
		}
		atomic_store_explicit(&me->ops, n, memory_order_relaxed);
	}
	_exit(0);
}

static void print_header(void)
{
	printf("bench,lock,workers,delay_us,batch,ops_per_s,ops_per_s_min,"
	       "ops_per_s_max,ns_per_op,cpu_ns_per_op,fairness,"
	       "contended_frac,lost_frac,total_ops,cpus_busy\n");
}

/* One call of paired()'s operation; returns the operations it made. */
static int paired_call(int fd, struct bank_op *op, struct bank_transfer *tr,
		       struct bank_batch *bt, int64_t *amounts, uint64_t n)
{
	switch (paired_op) {
	case B_TRANSFER:
		tr->amount = 1;
		bank_ioctl_or_die(fd, BANK_IOC_TRANSFER, tr,
				  "ioctl BANK_IOC_TRANSFER");
		swap_accounts(tr);
		return 1;
	case B_BATCH:
		if (batch_size == 1)
			amounts[0] = (n & 1) ? -1 : 1;
		bank_ioctl_or_die(fd, BANK_IOC_BATCH, bt, "ioctl BANK_IOC_BATCH");
		return batch_size;
	default:
		op->amount = 1;
		bank_ioctl_or_die(fd, BANK_IOC_DEPOSIT, op,
				  "ioctl BANK_IOC_DEPOSIT");
		return 1;
	}
}

/*
 * The uncontended comparison, made robust to a noisy machine: one process
 * alternates short blocks of null ioctls and of the operation (a deposit,
 * a transfer or a batch), so that both see the same conditions. Prints two
 * rows, the operation's and the null ioctl's, with the median rate of each:
 * deposit_paired and null_ioctl_paired, or for another operation OP,
 * OP_paired and null_ioctl_OP_paired, so that each ratio has its own pair.
 */
static int paired(int fd, int pairs, const char *lock_name, bool header)
{
	enum { BLOCK = 500 };
	double *dep = calloc(pairs, sizeof(double));
	double *nul = calloc(pairs, sizeof(double));
	int64_t amounts[BANK_BATCH_MAX];
	struct bank_batch bt = { 0 };
	struct bank_op op = { 0 };
	struct bank_transfer tr = { .from = 0, .to = 1 };
	const char *name = bench_names[paired_op];
	char null_name[64];
	uint64_t n = 0, ops = 0;
	int p, i, done;

	if (!dep || !nul)
		die_errno("calloc");
	for (i = 0; i < batch_size; i++)
		amounts[i] = (i & 1) ? -1 : 1;
	bt.amounts = (uintptr_t)amounts;
	bt.count = batch_size;
	for (p = 0; p < pairs && !got_signal; p++) {
		double t0 = now(), t1, t2;

		for (i = 0; i < BLOCK; i++)
			if (ioctl(fd, BANK_IOC_NULL) == 0 || errno != ENOTTY)
				die_errno("ioctl BANK_IOC_NULL");
		t1 = now();
		for (i = 0, done = 0; i < BLOCK; i++)
			done += paired_call(fd, &op, &tr, &bt, amounts, n++);
		t2 = now();
		ops += done;
		nul[p] = BLOCK / (t1 - t0);
		dep[p] = done / (t2 - t1);
	}
	if (got_signal)
		return 0;
	qsort(dep, pairs, sizeof(double), cmp_double);
	qsort(nul, pairs, sizeof(double), cmp_double);
	if (paired_op == B_DEPOSIT)
		snprintf(null_name, sizeof(null_name), "null_ioctl_paired");
	else
		snprintf(null_name, sizeof(null_name), "null_ioctl_%s_paired", name);
	if (header)
		print_header();
	/* min and max: the quartiles, as the extremes are the noise. */
	printf("%s_paired,%s,1,0,%d,%.0f,%.0f,%.0f,%.1f,0,1,0,0,%llu,1\n",
	       name, lock_name, batch_size, dep[pairs / 2], dep[pairs / 4],
	       dep[3 * pairs / 4], 1e9 / dep[pairs / 2], (unsigned long long)ops);
	printf("%s,%s,1,0,1,%.0f,%.0f,%.0f,%.1f,0,1,0,0,%d,1\n",
	       null_name, lock_name, nul[pairs / 2], nul[pairs / 4],
	       nul[3 * pairs / 4], 1e9 / nul[pairs / 2], pairs * BLOCK);
	free(dep);
	free(nul);
	return 0;
}

static void usage(void)
{
	printf("Usage: %s [OPTION]...\n"
	       "Measure one operation with N workers; print one CSV row:\n"
	       "bench,lock,workers,delay_us,batch,ops_per_s,ops_per_s_min,ops_per_s_max,\n"
	       "ns_per_op,cpu_ns_per_op,fairness,contended_frac,lost_frac,total_ops,\n"
	       "cpus_busy (ops_per_s: median of the samples, all workers together;\n"
	       "ns_per_op: as one worker sees it; cpu_ns_per_op: the workers' user +\n"
	       "system time; cpus_busy: that time over the run's wall time).\n"
	       "\n"
	       "  -b, --bench=NAME      deposit, alt (deposit and withdraw alternating),\n"
	       "                        batch, getppid, null_ioctl, pthread_mutex,\n"
	       "                        c11_atomic, transfer (1 between accounts 0 to 3,\n"
	       "                        there and back; default alt); paired: N = 1,\n"
	       "                        blocks of null ioctls and of --op taken in turn\n"
	       "                        (two rows; SAMPLES x 100 block pairs)\n"
	       "  -o, --op=NAME         what paired alternates with the null ioctl:\n"
	       "                        deposit (default), transfer or batch (-k)\n"
	       "  -m, --lock=MODE       first switch bank.ko to MODE (root)\n"
	       "  -D, --delay=US        first set delay_us (root)\n"
	       "  -w, --workers=N       worker processes, 1 to %d (default 1)\n"
	       "  -k, --batch=K         entries per BANK_IOC_BATCH (default 1)\n"
	       "  -S, --samples=N       timed samples (default 5)\n"
	       "  -t, --sample-ms=MS    length of a sample (default 300)\n"
	       "  -W, --warmup-ms=MS    discarded warm-up (default 200)\n"
	       "  -H, --header          print the column names first\n"
	       "  -d, --device=PATH     the device (default " BANK_DEVICE ")\n"
	       "  -h, --help            this help\n"
	       "\n"
	       "Every account it uses starts at 10^15, so that none runs empty. When it\n"
	       "ends (Ctrl-C, SIGTERM, SIGHUP and a failed call too) it puts back what\n"
	       "it changed: the lock mode, delay_us and those accounts' balances (a\n"
	       "balance is put back with BANK_IOC_SET_BALANCE, which also resets the\n"
	       "statistics).\n"
	       "\n"
	       "Exit status: 0 done, 1 a call failed (an empty account, EAGAIN, too),\n"
	       "2 bad usage; killed by a signal, after the restore, by that signal.\n",
	       progname, MAX_WORKERS);
}

static int parse_int(const char *s, int lo, int hi, const char *what)
{
	int64_t v;

	if (!parse_s64(s, &v) || v < lo || v > hi)
		die_usage("%s: '%s' is not %d to %d", what, s, lo, hi);
	return (int)v;
}

static bool call(int fd, unsigned long cmd, void *arg, const char *name)
{
	if (ioctl(fd, cmd, arg) == 0)
		return true;
	warn_errno(name);
	return false;
}

/*
 * Make accounts 0 to @n - 1 hold @want: account 0 is first set to what the
 * others lack and pays them, or takes their excess, by transfers; then it is
 * set itself (which also resets the statistics). Warns and returns -1 on
 * failure, without exiting: it also runs from the exit handler.
 */
static int set_balances(int fd, const int64_t *want, unsigned int n)
{
	struct bank_accounts all = { 0 };
	struct bank_transfer t = { 0 };
	int64_t need = 0;
	unsigned int j;

	if (n > 1) {
		if (!call(fd, BANK_IOC_GET_ACCOUNTS, &all,
			  "ioctl BANK_IOC_GET_ACCOUNTS"))
			return -1;
		for (j = 1; j < n; j++) {
			/* Balances are >= 0: the difference cannot overflow. */
			if (want[j] > all.balances[j] &&
			    __builtin_add_overflow(need, want[j] - all.balances[j],
						   &need)) {
				errno = EOVERFLOW;
				warn_errno("the accounts' balances");
				return -1;
			}
		}
		if (!call(fd, BANK_IOC_SET_BALANCE, &need,
			  "ioctl BANK_IOC_SET_BALANCE"))
			return -1;
		for (j = 1; j < n; j++) {
			int64_t d = want[j] - all.balances[j];

			if (!d)
				continue;
			t.from = d > 0 ? 0 : j;
			t.to = d > 0 ? j : 0;
			t.amount = d > 0 ? d : -d;
			if (!call(fd, BANK_IOC_TRANSFER, &t,
				  "ioctl BANK_IOC_TRANSFER"))
				return -1;
		}
	}
	return call(fd, BANK_IOC_SET_BALANCE, (void *)&want[0],
		    "ioctl BANK_IOC_SET_BALANCE") ? 0 : -1;
}

/*
 * Stop the workers and wait for them all. Returns false if one failed: its
 * message is above. After a signal, workers killed by it are no failure.
 */
static bool stop_workers(void)
{
	bool ok = true;
	int status;
	pid_t pid;

	if (!run.sh)
		return true;
	atomic_store(&run.sh->stop, 1);
	for (;;) {
		pid = wait(&status);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		if (got_signal && WIFSIGNALED(status))
			continue;
		ok = false;
	}
	run.sh = NULL;
	return ok;
}

/*
 * Put back what the run changed: first the balances (on the parent's
 * descriptor), then, with every descriptor closed (the lock mode changes
 * only then), delay_us and the lock. Once only, and in the parent only.
 */
static int finish(void)
{
	int ret = 0;

	if (getpid() != run.pid || run.finished)
		return 0;
	run.finished = true;
	if (!stop_workers())
		ret = -1;
	if (run.fd >= 0) {
		if (run.naccts &&
		    set_balances(run.fd, run.balance, run.naccts) < 0) {
			fprintf(stderr, "%s: could not put the balances back\n",
				progname);
			ret = -1;
		}
		close(run.fd);
		run.fd = -1;
	}
	if (run.configured && bank_restore(&run.params) < 0)
		ret = -1;
	return ret;
}

/* A failed call exits through die_errno(): restore then too. */
static void finish_at_exit(void)
{
	finish();
}

/* The end: restore, then die of the signal that asked for it, if one did. */
static int end(int status)
{
	if (finish() < 0 && !status)
		status = EXIT_CALL;
	fflush(stdout);
	if (got_signal) {
		signal(got_signal, SIG_DFL);
		raise(got_signal);
	}
	return status;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bench", required_argument, NULL, 'b' },
		{ "op", required_argument, NULL, 'o' },
		{ "lock", required_argument, NULL, 'm' },
		{ "delay", required_argument, NULL, 'D' },
		{ "workers", required_argument, NULL, 'w' },
		{ "batch", required_argument, NULL, 'k' },
		{ "samples", required_argument, NULL, 'S' },
		{ "sample-ms", required_argument, NULL, 't' },
		{ "warmup-ms", required_argument, NULL, 'W' },
		{ "header", no_argument, NULL, 'H' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const unsigned int nbench = sizeof(bench_names) / sizeof(bench_names[0]);
	int workers = 1, samples = 5, sample_ms = 300, warmup_ms = 200;
	const char *lock = NULL, *delay = NULL;
	double rate[MAX_SAMPLES], fair[MAX_SAMPLES];
	uint64_t before[MAX_WORKERS], total = 0;
	struct bank_stats st1 = { 0 };
	bool header = false, uses_bank, transfers;
	pthread_mutexattr_t ma;
	double contended = 0, lost = 0, cpu_ns, started, elapsed;
	int64_t fund[BENCH_ACCOUNTS];
	struct rusage ru;
	struct shared *sh;
	int opt, i, s, pipefd[2], fd = -1;
	unsigned int b;

	set_progname(argv[0]);
	while ((opt = getopt_long(argc, argv, "b:o:m:D:w:k:S:t:W:Hd:h", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'b':
		case 'o':
			for (b = 0; b < nbench; b++)
				if (!strcmp(optarg, bench_names[b]))
					break;
			if (b == nbench)
				die_usage("--%s: unknown '%s'",
					  opt == 'b' ? "bench" : "op", optarg);
			if (opt == 'b')
				bench = b;
			else if (b == B_DEPOSIT || b == B_TRANSFER || b == B_BATCH)
				paired_op = b;
			else
				die_usage("--op: '%s' is not deposit, transfer or batch",
					  optarg);
			break;
		case 'm':
			lock = optarg;
			break;
		case 'D':
			delay = optarg;
			break;
		case 'w':
			workers = parse_int(optarg, 1, MAX_WORKERS, "--workers");
			break;
		case 'k':
			batch_size = parse_int(optarg, 1, BANK_BATCH_MAX, "--batch");
			break;
		case 'S':
			samples = parse_int(optarg, 1, MAX_SAMPLES, "--samples");
			break;
		case 't':
			sample_ms = parse_int(optarg, 10, 60000, "--sample-ms");
			break;
		case 'W':
			warmup_ms = parse_int(optarg, 0, 60000, "--warmup-ms");
			break;
		case 'H':
			header = true;
			break;
		case 'd':
			device = optarg;
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

	uses_bank = bench == B_DEPOSIT || bench == B_ALT || bench == B_BATCH ||
		    bench == B_PAIRED || bench == B_TRANSFER;
	transfers = bench == B_TRANSFER ||
		    (bench == B_PAIRED && paired_op == B_TRANSFER);

	/*
	 * From here on, what the run changes is put back however it ends: a
	 * signal ends the run, which then restores and dies of the signal; a
	 * failed call exits through the exit handler, which restores too.
	 */
	run.pid = getpid();
	bank_catch_signals(on_signal);
	if (atexit(finish_at_exit))
		die_errno("atexit");
	bank_configure(lock, delay, &run.params);
	run.configured = true;
	if (uses_bank) {
		/* The lock mode has changed: only now may the device be open. */
		fd = bank_open(device, O_RDWR);
		run.fd = fd;
		if (transfers) {
			struct bank_accounts all = { 0 };

			bank_ioctl_or_die(fd, BANK_IOC_GET_ACCOUNTS, &all,
					  "ioctl BANK_IOC_GET_ACCOUNTS");
			if (all.count < 2) {
				fprintf(stderr, "%s: transfers need 2 accounts, "
					"bank.ko has %u\n", progname, all.count);
				return end(EXIT_CALL);
			}
			transfer_accounts = all.count < BENCH_ACCOUNTS ?
					    all.count : BENCH_ACCOUNTS;
			memcpy(run.balance, all.balances,
			       transfer_accounts * sizeof(run.balance[0]));
			run.naccts = transfer_accounts;
		} else {
			bank_ioctl_or_die(fd, BANK_IOC_GET_BALANCE, &run.balance[0],
					  "ioctl BANK_IOC_GET_BALANCE");
			run.naccts = 1;
		}
		for (b = 0; b < run.naccts; b++)
			fund[b] = FUND;
		if (set_balances(fd, fund, run.naccts) < 0)
			return end(EXIT_CALL);
	}
	if (got_signal)
		return end(0);
	if (bench == B_PAIRED) {
		bank_ioctl_or_die(fd, BANK_IOC_GET_STATS, &st1,
				  "ioctl BANK_IOC_GET_STATS");
		paired(fd, samples * 100, bank_lock_name(st1.lock), header);
		return end(0);
	}

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die_errno("mmap");
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&sh->mutex, &ma);

	if (pipe(pipefd) < 0)
		die_errno("pipe");
	/* Nothing buffered that each child would print again at its exit. */
	fflush(stdout);
	run.sh = sh;
	for (i = 0; i < workers; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die_errno("fork");
		if (pid == 0) {
			close(pipefd[1]);
			worker(sh, i, pipefd[0]);
		}
	}
	close(pipefd[0]);
	close(pipefd[1]);	/* go */
	started = now();

	sleep_ms(warmup_ms);
	for (s = 0; s < samples && !got_signal; s++) {
		double t0, t1, lo = -1, hi = 0, sum = 0;

		for (i = 0; i < workers; i++)
			before[i] = atomic_load(&sh->slot[i].ops);
		t0 = now();
		sleep_ms(sample_ms);
		t1 = now();
		for (i = 0; i < workers; i++) {
			double d = (double)(atomic_load(&sh->slot[i].ops) - before[i]);

			sum += d;
			if (lo < 0 || d < lo)
				lo = d;
			if (d > hi)
				hi = d;
		}
		rate[s] = sum / (t1 - t0);
		fair[s] = hi > 0 ? lo / hi : 0;
	}
	elapsed = now() - started;
	if (!stop_workers()) {
		fprintf(stderr, "%s: a worker failed\n", progname);
		return end(EXIT_CALL);
	}
	if (got_signal)
		return end(0);
	for (i = 0; i < workers; i++)
		total += atomic_load(&sh->slot[i].ops);
	getrusage(RUSAGE_CHILDREN, &ru);
	cpu_ns = ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e9 +
		 ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e3;

	if (uses_bank) {
		uint64_t ops;

		bank_ioctl_or_die(fd, BANK_IOC_GET_STATS, &st1,
				  "ioctl BANK_IOC_GET_STATS");
		ops = st1.deposits + st1.withdrawals;
		if (ops) {
			contended = (double)st1.contended / (double)ops;
			lost = (double)llabs((long long)(st1.expected - st1.balance)) /
			       (double)ops;
		}
	}

	qsort(rate, samples, sizeof(rate[0]), cmp_double);
	qsort(fair, samples, sizeof(fair[0]), cmp_double);
	if (header)
		print_header();
	printf("%s,%s,%d,%u,%d,%.0f,%.0f,%.0f,%.1f,%.1f,%.3f,%.4f,%.6f,%llu,%.2f\n",
	       bench_names[bench], uses_bank ? bank_lock_name(st1.lock) : "-",
	       workers, uses_bank ? st1.delay_us : 0, batch_size,
	       rate[samples / 2], rate[0], rate[samples - 1],
	       rate[samples / 2] > 0 ? workers * 1e9 / rate[samples / 2] : 0,
	       total ? cpu_ns / (double)total : 0, fair[samples / 2],
	       contended, lost, (unsigned long long)total,
	       cpu_ns / 1e9 / elapsed);
	return end(0);
}
