// SPDX-License-Identifier: GPL-2.0
/*
 * The loop of the notebook's deposit() and withdraw(), shared by the two
 * programs: for i in range(count): time.sleep(s); balance += or -= amount.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bank_client.h"
#include "bankloop.h"

static void usage(bool withdraw)
{
	printf("Usage: %s [OPTION]...\n"
	       "%s, like the notebook's %s(): COUNT times, sleep, then %s AMOUNT.\n"
	       "\n"
	       "  -n, --count=COUNT     operations (default 100)\n"
	       "  -a, --amount=AMOUNT   amount of each, > 0 (default 1)\n"
	       "  -s, --sleep=SECONDS   sleep before each, 0 for none (default 0.01)\n"
	       "  -d, --device=PATH     the device (default " BANK_DEVICE ")\n"
	       "%s"
	       "  -q, --quiet           print nothing when all went well\n"
	       "  -h, --help            this help\n"
	       "\n"
	       "Exit status: 0 done, 1 an ioctl failed (the message says which and why),\n"
	       "2 bad usage.\n",
	       progname,
	       withdraw ? "Withdraw from /dev/bank" : "Deposit into /dev/bank",
	       withdraw ? "withdraw" : "deposit",
	       withdraw ? "withdraw" : "deposit",
	       withdraw ? "  -N, --nonblock        fail with EAGAIN instead of waiting for funds\n"
			: "");
}

int bank_loop_main(int argc, char **argv, bool withdraw)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "amount", required_argument, NULL, 'a' },
		{ "sleep", required_argument, NULL, 's' },
		{ "device", required_argument, NULL, 'd' },
		{ "nonblock", no_argument, NULL, 'N' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *device = BANK_DEVICE;
	unsigned long cmd = withdraw ? BANK_IOC_WITHDRAW : BANK_IOC_DEPOSIT;
	const char *call = withdraw ? "ioctl BANK_IOC_WITHDRAW"
				    : "ioctl BANK_IOC_DEPOSIT";
	int64_t count = 100, amount = 1, i;
	double pause = 0.01;
	bool quiet = false;
	int flags = O_RDWR;
	struct bank_op op;
	int opt, fd;

	set_progname(argv[0]);
	while ((opt = getopt_long(argc, argv, "n:a:s:d:Nqh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (!parse_s64(optarg, &count) || count < 0)
				die_usage("--count: '%s' is not a count >= 0", optarg);
			break;
		case 'a':
			if (!parse_s64(optarg, &amount) || amount <= 0)
				die_usage("--amount: '%s' is not an amount > 0", optarg);
			break;
		case 's':
			if (!parse_seconds(optarg, &pause))
				die_usage("--sleep: '%s' is not 0 to 3600 seconds", optarg);
			break;
		case 'd':
			device = optarg;
			break;
		case 'N':
			if (!withdraw)
				die_usage("--nonblock is for withdraw only");
			flags |= O_NONBLOCK;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(withdraw);
			return 0;
		default:
			die_usage("unknown option");
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);

	fd = bank_open(device, flags);
	memset(&op, 0, sizeof(op));
	for (i = 0; i < count; i++) {
		sleep_seconds(pause);
		op.amount = amount;
		bank_ioctl_or_die(fd, cmd, &op, call);
	}
	if (!quiet) {
		if (count)
			printf("%s: %lld x %lld done, balance after the last: %lld\n",
			       progname, (long long)count, (long long)amount,
			       (long long)op.balance);
		else
			printf("%s: nothing to do\n", progname);
	}
	return 0;
}
