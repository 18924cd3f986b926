// SPDX-License-Identifier: GPL-2.0
/*
 * bank-race: the notebook's experiment, one row at a time. Sets the balance,
 * starts PAIRS deposit and PAIRS withdraw processes together (the programs
 * next to this one), waits for them, then asks the kernel what happened.
 * The lock mode and delay_us it set are put back when it ends, Ctrl-C too.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bank_client.h"

static void usage(void)
{
	printf("Usage: %s [OPTION]...\n"
	       "Set the balance, run PAIRS deposit and PAIRS withdraw processes at once,\n"
	       "wait for them and print one row: what the kernel counted against the\n"
	       "balance it ended with.\n"
	       "\n"
	       "  -m, --lock=MODE       switch bank.ko to MODE for this run (root, device\n"
	       "                        closed)\n"
	       "  -D, --delay=US        set delay_us for this run (root)\n"
	       "  -b, --start=N         starting balance (default 200)\n"
	       "  -p, --pairs=N         deposit/withdraw process pairs (default 1)\n"
	       "  -n, --count=N         operations per process (default 100)\n"
	       "  -a, --amount=N        amount per operation (default 1)\n"
	       "  -s, --sleep=SECONDS   sleep before each operation (default 0.01)\n"
	       "  -l, --label=TEXT      the row's scenario column (default: run)\n"
	       "  -H, --header          print the column names first\n"
	       "  -d, --device=PATH     the device (default " BANK_DEVICE ")\n"
	       "  -h, --help            this help\n"
	       "\n"
	       "Columns: deposited and withdrawn are what the kernel counted as done;\n"
	       "expected is the balance they add up to; final is the real balance;\n"
	       "net_lost is |expected - final| / amount: a net count, since a lost\n"
	       "deposit and a lost withdrawal cancel out; at least that many updates\n"
	       "vanished. contended is how many operations found the lock taken (in\n"
	       "atomic: retried their compare-and-swap).\n"
	       "\n"
	       "The lock mode and delay_us are put back as they were when it ends.\n"
	       "\n"
	       "Exit status: 0 final == expected, 3 updates were lost, 1 a call or a\n"
	       "process failed, 2 bad usage.\n", progname);
}

#define HEADER_FMT "%-9s %-9s %7s %10s %10s %10s %10s %8s %10s  %s\n"
#define MAX_PAIRS 64

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}
#define ROW_FMT    "%-9s %-9s %7lld %10lld %10lld %10lld %10lld %8lld %10llu  %s\n"

static pid_t spawn(const char *prog, char *const args[])
{
	char self[PATH_MAX], path[PATH_MAX + 32], *slash;
	ssize_t n;
	pid_t pid;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		die_errno("readlink /proc/self/exe");
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/%s", self, prog);

	pid = fork();
	if (pid < 0)
		die_errno("fork");
	if (pid == 0) {
		execv(path, args);
		warn_errno(path);
		_exit(EXIT_CALL);
	}
	return pid;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lock", required_argument, NULL, 'm' },
		{ "delay", required_argument, NULL, 'D' },
		{ "start", required_argument, NULL, 'b' },
		{ "pairs", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "amount", required_argument, NULL, 'a' },
		{ "sleep", required_argument, NULL, 's' },
		{ "label", required_argument, NULL, 'l' },
		{ "header", no_argument, NULL, 'H' },
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *lock = NULL, *delay = NULL, *label = "run";
	char *device = BANK_DEVICE, *count = "100", *amount = "1";
	char *pause = "0.01";
	int64_t start = 200, pairs = 1, v;
	double secs;
	bool header = false, failed = false;
	struct bank_stats st;
	struct bank_saved saved;
	pid_t pids[2 * MAX_PAIRS];
	long long lost;
	int opt, fd, status, nproc = 0, forwarded = 0, i;
	pid_t pid;

	set_progname(argv[0]);
	while ((opt = getopt_long(argc, argv, "m:D:b:p:n:a:s:l:Hd:h", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 'm':
			lock = optarg;
			break;
		case 'D':
			delay = optarg;
			break;
		case 'b':
			if (!parse_s64(optarg, &start) || start < 0)
				die_usage("--start: '%s' is not a balance >= 0", optarg);
			break;
		case 'p':
			if (!parse_s64(optarg, &pairs) || pairs < 1 || pairs > MAX_PAIRS)
				die_usage("--pairs: '%s' is not 1 to %d", optarg,
					  MAX_PAIRS);
			break;
		case 'n':
			if (!parse_s64(optarg, &v) || v < 0)
				die_usage("--count: '%s' is not a count >= 0", optarg);
			count = optarg;
			break;
		case 'a':
			if (!parse_s64(optarg, &v) || v <= 0)
				die_usage("--amount: '%s' is not an amount > 0", optarg);
			amount = optarg;
			break;
		case 's':
			if (!parse_seconds(optarg, &secs))
				die_usage("--sleep: '%s' is not 0 to 3600 seconds", optarg);
			pause = optarg;
			break;
		case 'l':
			label = optarg;
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

	/*
	 * The lock can change only while nobody has the device open. From here
	 * on, a signal must not end the run before the settings are put back:
	 * it is passed to the workers, and raised again at the end.
	 */
	bank_configure(lock, delay, &saved);
	bank_catch_signals(on_signal);

	fd = bank_open(device, O_RDWR);
	bank_ioctl_or_die(fd, BANK_IOC_SET_BALANCE, &start,
			  "ioctl BANK_IOC_SET_BALANCE");

	{
		char *dargs[] = { "deposit", "-q", "-n", count, "-a", amount,
				  "-s", pause, "-d", device, NULL };
		char *wargs[] = { "withdraw", "-q", "-n", count, "-a", amount,
				  "-s", pause, "-d", device, NULL };

		for (v = 0; v < pairs && !got_signal; v++) {
			pids[nproc++] = spawn("deposit", dargs);
			pids[nproc++] = spawn("withdraw", wargs);
		}
	}
	for (;;) {
		if (got_signal && !forwarded) {
			for (i = 0; i < nproc; i++)
				kill(pids[i], got_signal);
			forwarded = 1;
		}
		pid = wait(&status);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		if (!got_signal && (!WIFEXITED(status) || WEXITSTATUS(status))) {
			fprintf(stderr, "%s: process %d failed\n", progname, (int)pid);
			failed = true;
		}
	}
	if (errno != ECHILD)
		die_errno("wait");

	bank_ioctl_or_die(fd, BANK_IOC_GET_STATS, &st, "ioctl BANK_IOC_GET_STATS");
	close(fd);
	if (bank_restore(&saved) < 0)
		failed = true;
	if (got_signal) {
		signal(got_signal, SIG_DFL);
		raise(got_signal);
	}
	parse_s64(amount, &v);
	lost = llabs((long long)(st.expected - st.balance)) / v;

	if (header)
		printf(HEADER_FMT, "lock", "scenario", "start", "deposited",
		       "withdrawn", "expected", "final", "net_lost", "contended",
		       "verdict");
	printf(ROW_FMT, bank_lock_name(st.lock), label, (long long)start,
	       (long long)(st.deposits * v), (long long)(st.withdrawals * v),
	       (long long)st.expected, (long long)st.balance, lost,
	       (unsigned long long)st.contended,
	       failed ? "FAILED" : st.balance == st.expected ? "exact" :
	       "LOST UPDATES");
	fflush(stdout);
	if (failed)
		return EXIT_CALL;
	return st.balance == st.expected ? 0 : EXIT_WRONG;
}
