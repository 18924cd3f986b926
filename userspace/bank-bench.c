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
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bank_client.h"

#define MAX_WORKERS	64
#define MAX_SAMPLES	64
#define CACHELINE	64

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
static const char *device = BANK_DEVICE;
static int batch_size = 1;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(int ms)
{
	sleep_seconds(ms / 1000.0);
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
	/* Worker i moves 1 between accounts i and i + 1 of 4, back and forth. */
	struct bank_transfer tr = { .from = id % 4, .to = (id + 1) % 4 };
	uint64_t n = 0;
	char c;
	int fd = -1, i;

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

/*
 * The uncontended comparison, made robust to a noisy machine: one process
 * alternates short blocks of null ioctls and deposits, so that both see the
 * same conditions, and each block pair gives a ratio. Prints two rows,
 * deposit_paired and null_ioctl_paired, with the median rate of each.
 */
static int paired(int fd, int pairs, const char *lock_name, bool header)
{
	enum { BLOCK = 500 };
	double *dep = calloc(pairs, sizeof(double));
	double *nul = calloc(pairs, sizeof(double));
	struct bank_op op = { 0 };
	int p, i;

	if (!dep || !nul)
		die_errno("calloc");
	for (p = 0; p < pairs; p++) {
		double t0 = now(), t1, t2;

		for (i = 0; i < BLOCK; i++)
			if (ioctl(fd, BANK_IOC_NULL) == 0 || errno != ENOTTY)
				die_errno("ioctl BANK_IOC_NULL");
		t1 = now();
		for (i = 0; i < BLOCK; i++) {
			op.amount = 1;
			bank_ioctl_or_die(fd, BANK_IOC_DEPOSIT, &op,
					  "ioctl BANK_IOC_DEPOSIT");
		}
		t2 = now();
		nul[p] = BLOCK / (t1 - t0);
		dep[p] = BLOCK / (t2 - t1);
	}
	qsort(dep, pairs, sizeof(double), cmp_double);
	qsort(nul, pairs, sizeof(double), cmp_double);
	if (header)
		printf("bench,lock,workers,delay_us,batch,ops_per_s,ops_per_s_min,"
		       "ops_per_s_max,ns_per_op,cpu_ns_per_op,fairness,"
		       "contended_frac,lost_frac,total_ops,cpus_busy\n");
	/* min and max: the quartiles, as the extremes are the noise. */
	printf("deposit_paired,%s,1,0,1,%.0f,%.0f,%.0f,%.1f,0,1,0,0,%d,1\n",
	       lock_name, dep[pairs / 2], dep[pairs / 4], dep[3 * pairs / 4],
	       1e9 / dep[pairs / 2], pairs * BLOCK);
	printf("null_ioctl_paired,%s,1,0,1,%.0f,%.0f,%.0f,%.1f,0,1,0,0,%d,1\n",
	       lock_name, nul[pairs / 2], nul[pairs / 4], nul[3 * pairs / 4],
	       1e9 / nul[pairs / 2], pairs * BLOCK);
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
	       "                        c11_atomic, transfer (1 between accounts, needs\n"
	       "                        4 of them; default alt); paired: N = 1, blocks\n"
	       "                        of null ioctls and deposits taken in turn\n"
	       "                        (two rows; SAMPLES x 100 block pairs)\n"
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
	       "Exit status: 0 done, 1 a call failed, 2 bad usage.\n",
	       progname, MAX_WORKERS);
}

static int parse_int(const char *s, int lo, int hi, const char *what)
{
	int64_t v;

	if (!parse_s64(s, &v) || v < lo || v > hi)
		die_usage("%s: '%s' is not %d to %d", what, s, lo, hi);
	return (int)v;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bench", required_argument, NULL, 'b' },
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
	int workers = 1, samples = 5, sample_ms = 300, warmup_ms = 200;
	const char *lock = NULL, *delay = NULL;
	double rate[MAX_SAMPLES], fair[MAX_SAMPLES];
	uint64_t before[MAX_WORKERS], total = 0;
	struct bank_stats st1 = { 0 };
	bool header = false, uses_bank;
	pthread_mutexattr_t ma;
	double contended = 0, lost = 0, cpu_ns, started, elapsed;
	int64_t start_balance = 1000000000;
	struct rusage ru;
	struct shared *sh;
	int opt, i, s, pipefd[2], fd = -1, status;
	unsigned int b;

	set_progname(argv[0]);
	while ((opt = getopt_long(argc, argv, "b:m:D:w:k:S:t:W:Hd:h", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'b':
			for (b = 0; b < sizeof(bench_names) / sizeof(bench_names[0]); b++)
				if (!strcmp(optarg, bench_names[b]))
					break;
			if (b == sizeof(bench_names) / sizeof(bench_names[0]))
				die_usage("--bench: unknown '%s'", optarg);
			bench = b;
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
	bank_configure(lock, delay, NULL);
	if (uses_bank) {
		/* Far from 0 and from S64_MAX: no withdrawal ever waits. */
		fd = bank_open(device, O_RDWR);
		bank_ioctl_or_die(fd, BANK_IOC_SET_BALANCE, &start_balance,
				  "ioctl BANK_IOC_SET_BALANCE");
	}
	if (bench == B_PAIRED) {
		bank_ioctl_or_die(fd, BANK_IOC_GET_STATS, &st1,
				  "ioctl BANK_IOC_GET_STATS");
		return paired(fd, samples * 100, bank_lock_name(st1.lock), header);
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
	for (s = 0; s < samples; s++) {
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
	atomic_store(&sh->stop, 1);
	elapsed = now() - started;
	while (wait(&status) > 0) {
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "%s: a worker failed\n", progname);
			return EXIT_CALL;
		}
	}
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
		close(fd);
	}

	qsort(rate, samples, sizeof(rate[0]), cmp_double);
	qsort(fair, samples, sizeof(fair[0]), cmp_double);
	if (header)
		printf("bench,lock,workers,delay_us,batch,ops_per_s,ops_per_s_min,"
		       "ops_per_s_max,ns_per_op,cpu_ns_per_op,fairness,"
		       "contended_frac,lost_frac,total_ops,cpus_busy\n");
	printf("%s,%s,%d,%u,%d,%.0f,%.0f,%.0f,%.1f,%.1f,%.3f,%.4f,%.6f,%llu,%.2f\n",
	       bench_names[bench], uses_bank ? bank_lock_name(st1.lock) : "-",
	       workers, uses_bank ? st1.delay_us : 0, batch_size,
	       rate[samples / 2], rate[0], rate[samples - 1],
	       rate[samples / 2] > 0 ? workers * 1e9 / rate[samples / 2] : 0,
	       total ? cpu_ns / (double)total : 0, fair[samples / 2],
	       contended, lost, (unsigned long long)total,
	       cpu_ns / 1e9 / elapsed);
	return 0;
}
