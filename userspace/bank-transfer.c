// SPDX-License-Identifier: GPL-2.0
/*
 * bank-transfer: the deadlock lesson's load. PROCS processes move money
 * between accounts at once; the parent watches their progress, and if none
 * of them finishes a transfer for a while (a deadlock), shows where each
 * one waits, kills them and checks that no money was lost or created.
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

enum { EXIT_STALLED = 4 };
#define MAX_PROCS 64

static void usage(void)
{
	printf("Usage: %s [OPTION]...\n"
	       "Run PROCS processes that transfer money between bank.ko's accounts at once,\n"
	       "then check that the total is what the deposits and withdrawals imply.\n"
	       "\n"
	       "  -m, --lock=MODE       first switch bank.ko to MODE (root, device closed)\n"
	       "  -o, --order=ORDER     first set lock_order: ordered or naive (root)\n"
	       "  -D, --delay=US        first set delay_us (root)\n"
	       "  -p, --procs=N         processes (default 2, at most %d)\n"
	       "  -n, --count=N         transfers per process (default 1000)\n"
	       "  -a, --amount=N        amount per transfer (default 1)\n"
	       "  -r, --random=SEED     random pairs of accounts, and deposits and\n"
	       "                        withdrawals of 1 on account 0 among them\n"
	       "                        (default: even processes 1 -> 2, odd ones 2 -> 1)\n"
	       "  -s, --stall=SECONDS   no transfer done for that long: a deadlock; show\n"
	       "                        where each process waits, kill them (default 3)\n"
	       "  -d, --device=PATH     the device (default " BANK_DEVICE ")\n"
	       "  -h, --help            this help\n"
	       "\n"
	       "The lock, lock_order and delay_us it set are put back when it ends,\n"
	       "Ctrl-C too.\n"
	       "Exit status: 0 done and the money adds up, 3 money was lost or created,\n"
	       "4 the processes stopped making progress and were killed, 1 a call\n"
	       "failed, 2 bad usage.\n", progname, MAX_PROCS);
}

/* Shared with the workers: what each has done, for progress and the ledger. */
struct progress {
	atomic_long transfers[MAX_PROCS];
	atomic_long refused[MAX_PROCS];		/* EAGAIN: not enough funds */
	atomic_long net[MAX_PROCS];		/* deposits - withdrawals */
};

static struct bank_accounts snapshot(int fd)
{
	struct bank_accounts all;

	memset(&all, 0, sizeof(all));
	bank_ioctl_or_die(fd, BANK_IOC_GET_ACCOUNTS, &all,
			  "ioctl BANK_IOC_GET_ACCOUNTS");
	return all;
}

static long long total(const struct bank_accounts *all)
{
	long long sum = 0;
	uint32_t i;

	for (i = 0; i < all->count && i < BANK_ACCOUNTS_MAX; i++)
		sum += all->balances[i];
	return sum;
}

static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static void worker(const char *device, int w, long count, int64_t amount,
		   long seed, uint32_t accounts, struct progress *p)
{
	uint64_t state = (uint64_t)seed * 2654435761u + (uint64_t)w + 1;
	int fd = bank_open(device, O_RDWR | O_NONBLOCK);
	long i;

	for (i = 0; i < count; i++) {
		struct bank_transfer t = { .amount = amount };
		struct bank_op op = { .amount = 1 };
		unsigned long cmd = BANK_IOC_TRANSFER;
		void *arg = &t;
		uint64_t r = seed >= 0 ? next_random(&state) : 0;

		if (seed < 0) {
			t.from = w % 2 ? 2 : 1;
			t.to = w % 2 ? 1 : 2;
		} else if (r % 4 == 0) {
			cmd = r & 16 ? BANK_IOC_DEPOSIT : BANK_IOC_WITHDRAW;
			arg = &op;
		} else {
			t.from = (r >> 8) % accounts;
			t.to = (t.from + 1 + (r >> 20) % (accounts - 1)) % accounts;
		}
		if (ioctl(fd, cmd, arg) == 0) {
			if (cmd == BANK_IOC_DEPOSIT)
				atomic_fetch_add(&p->net[w], 1);
			else if (cmd == BANK_IOC_WITHDRAW)
				atomic_fetch_sub(&p->net[w], 1);
			atomic_fetch_add(&p->transfers[w], 1);
		} else if (errno == EAGAIN) {
			atomic_fetch_add(&p->refused[w], 1);
		} else {
			warn_errno(cmd == BANK_IOC_TRANSFER ? "ioctl BANK_IOC_TRANSFER"
				   : "ioctl BANK_IOC_DEPOSIT/WITHDRAW");
			_exit(EXIT_CALL);
		}
	}
	_exit(0);
}

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/*
 * Put back lock_order, then the lock and delay_us, as they were. "ordered"
 * goes first: "naive" is refused with the spinlock, so the lock could not
 * go back to spinlock while the order is still naive.
 */
static int restore(const char *order, const struct bank_saved *saved)
{
	int ret = 0;

	if (order[0] && bank_param_write("lock_order", "ordered") < 0) {
		warn_errno("restore " BANK_PARAMS "/lock_order");
		ret = -1;
	}
	if (bank_restore(saved) < 0)
		ret = -1;
	if (order[0] && strcmp(order, "ordered") &&
	    bank_param_write("lock_order", order) < 0) {
		warn_errno("restore " BANK_PARAMS "/lock_order");
		ret = -1;
	}
	return ret;
}

static long sum(atomic_long *v, int n)
{
	long s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += atomic_load(&v[i]);
	return s;
}

/* First line of /proc/PID/@what, or "?" */
static void proc_line(pid_t pid, const char *what, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	snprintf(buf, size, "?");
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void show_waits(const pid_t *pids, int procs)
{
	char wchan[128], frame[256], path[64];
	int i;

	for (i = 0; i < procs; i++) {
		FILE *f;
		int n = 0;

		proc_line(pids[i], "wchan", wchan, sizeof(wchan));
		printf("  pid %d waits in %s\n", (int)pids[i], wchan);
		snprintf(path, sizeof(path), "/proc/%d/stack", (int)pids[i]);
		f = fopen(path, "r");
		while (f && n < 6 && fgets(frame, sizeof(frame), f)) {
			printf("    %s", frame);
			n++;
		}
		if (f)
			fclose(f);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lock", required_argument, NULL, 'm' },
		{ "order", required_argument, NULL, 'o' },
		{ "delay", required_argument, NULL, 'D' },
		{ "procs", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "amount", required_argument, NULL, 'a' },
		{ "random", required_argument, NULL, 'r' },
		{ "stall", required_argument, NULL, 's' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *device = BANK_DEVICE, *lock = NULL, *order = NULL;
	const char *delay = NULL;
	char old_order[32] = "";
	struct bank_saved saved;
	int64_t procs = 2, count = 1000, amount = 1, seed = -1;
	double stall = 3;
	struct bank_accounts before, after;
	pid_t pids[MAX_PROCS];
	struct progress *p;
	long last = -1, done, net;
	double still = 0;
	int opt, fd, i, running, status, failed = 0, stalled = 0;

	set_progname(argv[0]);
	while ((opt = getopt_long(argc, argv, "m:o:D:p:n:a:r:s:d:h", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'm': lock = optarg; break;
		case 'o': order = optarg; break;
		case 'D': delay = optarg; break;
		case 'd': device = optarg; break;
		case 'p':
			if (!parse_s64(optarg, &procs) || procs < 1 || procs > MAX_PROCS)
				die_usage("--procs: 1 to %d", MAX_PROCS);
			break;
		case 'n':
			if (!parse_s64(optarg, &count) || count < 0)
				die_usage("--count: a number >= 0");
			break;
		case 'a':
			if (!parse_s64(optarg, &amount) || amount < 1)
				die_usage("--amount: a number > 0");
			break;
		case 'r':
			if (!parse_s64(optarg, &seed) || seed < 0)
				die_usage("--random: a seed >= 0");
			break;
		case 's':
			if (!parse_seconds(optarg, &stall) || stall <= 0)
				die_usage("--stall: seconds > 0");
			break;
		case 'h':
			usage();
			return 0;
		default:
			die_usage("unknown option");
		}
	}
	if (optind < argc)
		die_usage("unexpected '%s'", argv[optind]);

	/*
	 * What this run changes is put back when it ends, Ctrl-C too. The
	 * module refuses lock_order=naive with the spinlock: "ordered" is set
	 * before the lock changes, "naive" after.
	 */
	if (order && bank_param_read("lock_order", old_order, sizeof(old_order)) < 0)
		die_errno("read " BANK_PARAMS "/lock_order");
	if (order && !strcmp(order, "ordered") &&
	    bank_param_write("lock_order", order) < 0)
		die_errno("write " BANK_PARAMS "/lock_order");
	bank_configure(lock, delay, &saved);
	if (order && strcmp(order, "ordered") &&
	    bank_param_write("lock_order", order) < 0) {
		warn_errno("write " BANK_PARAMS "/lock_order");
		restore("", &saved);
		return EXIT_CALL;
	}
	bank_catch_signals(on_signal);

	fd = bank_open(device, O_RDONLY);
	before = snapshot(fd);
	if (before.count < (seed < 0 ? 3u : 2u))
		die_usage("bank.ko has %u accounts: load it with accounts=%d or more",
			  before.count, seed < 0 ? 3 : 2);
	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die_errno("mmap");
	memset(p, 0, sizeof(*p));
	for (i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die_errno("fork");
		if (pids[i] == 0)
			worker(device, i, count, amount, seed, before.count, p);
	}

	/* Watch: every 100 ms, has anyone finished a transfer? */
	for (running = (int)procs; running > 0;) {
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid > 0) {
			running--;
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				failed = 1;
			continue;
		}
		if (got_signal) {
			for (i = 0; i < procs; i++)
				kill(pids[i], SIGKILL);
			while (waitpid(-1, NULL, 0) > 0)
				;
			break;
		}
		sleep_seconds(0.1);
		done = sum(p->transfers, (int)procs) + sum(p->refused, (int)procs);
		still = done == last ? still + 0.1 : 0;
		last = done;
		if (still < stall)
			continue;
		printf("no transfer finished for %.1f s: a deadlock? Where each process waits:\n",
		       stall);
		show_waits(pids, (int)procs);
		for (i = 0; i < procs; i++)
			kill(pids[i], SIGKILL);
		while (waitpid(-1, NULL, 0) > 0)
			;
		printf("killed them (kill -9); a transfer that ended just before its\n"
		       "process was killed moved money without being counted here\n");
		stalled = 1;
		break;
	}

	after = snapshot(fd);
	net = sum(p->net, (int)procs);
	printf("calls done %ld, refused for funds %ld, deposits - withdrawals %ld\n",
	       sum(p->transfers, (int)procs), sum(p->refused, (int)procs), net);
	printf("total before %lld, after %lld, expected %lld: %s\n",
	       total(&before), total(&after), total(&before) + net,
	       total(&after) == total(&before) + net ? "no money lost or created"
						      : "MONEY LOST OR CREATED");
	close(fd);
	if (restore(old_order, &saved) < 0)
		failed = 1;
	if (got_signal) {
		signal(got_signal, SIG_DFL);
		raise(got_signal);
	}
	if (failed)
		return EXIT_CALL;
	if (total(&after) != total(&before) + net)
		return EXIT_WRONG;
	return stalled ? EXIT_STALLED : 0;
}
