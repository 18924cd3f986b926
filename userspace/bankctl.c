// SPDX-License-Identifier: GPL-2.0
/* bankctl: one command against /dev/bank and its parameters. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bank_client.h"

static void usage(void)
{
	printf("Usage: %s [-d DEVICE] COMMAND [ARG]\n"
	       "Talk to /dev/bank (bank.ko).\n"
	       "\n"
	       "  balance               print the balance\n"
	       "  set N                 set the balance to N >= 0 and reset the counters\n"
	       "  deposit N             deposit N > 0, print the new balance\n"
	       "  withdraw N [--nonblock]\n"
	       "                        withdraw N > 0, waiting for funds unless --nonblock\n"
	       "  stats                 print the balance and the counters\n"
	       "  transfer FROM TO N    move N > 0 from account FROM to account TO\n"
	       "  accounts              print every account's balance, at one instant\n"
	       "                        with the spinlock and the mutex\n"
	       "  lock [MODE]           print, or set (root, device closed), the lock mode:\n"
	       "                        none, spinlock, mutex or atomic\n"
	       "  order [ORDER]         print, or set (root, device closed), lock_order:\n"
	       "                        ordered or naive\n"
	       "  delay [US]            print, or set (root), delay_us: 0 to 10000\n"
	       "\n"
	       "  -d, --device=PATH     the device (default " BANK_DEVICE ")\n"
	       "  -h, --help            this help\n"
	       "\n"
	       "Exit status: 0 done, 1 a call failed (the message says which and why),\n"
	       "2 bad usage.\n", progname);
}

static int64_t amount_arg(int argc, char **argv, int i, const char *cmd)
{
	int64_t v;

	if (i >= argc)
		die_usage("%s: missing amount", cmd);
	if (!parse_s64(argv[i], &v))
		die_usage("%s: '%s' is not a number", cmd, argv[i]);
	return v;
}

static void print_stats(const struct bank_stats *st)
{
	printf("balance:     %lld\n"
	       "expected:    %lld\n"
	       "deposits:    %llu\n"
	       "withdrawals: %llu\n"
	       "contended:   %llu\n"
	       "waits:       %llu\n"
	       "lock:        %s\n"
	       "delay_us:    %u\n",
	       (long long)st->balance, (long long)st->expected,
	       (unsigned long long)st->deposits,
	       (unsigned long long)st->withdrawals,
	       (unsigned long long)st->contended,
	       (unsigned long long)st->waits, bank_lock_name(st->lock),
	       st->delay_us);
}

/* lock [MODE], delay [US]: the module parameter @name. */
static int param_cmd(const char *name, int argc, char **argv, int i)
{
	char buf[64], what[128];

	if (i + 1 < argc)
		die_usage("%s: too many arguments", name);
	if (i < argc) {
		if (bank_param_write(name, argv[i]) < 0) {
			snprintf(what, sizeof(what), "write %s/%s", BANK_PARAMS, name);
			die_bank_errno(what);
		}
		return 0;
	}
	if (bank_param_read(name, buf, sizeof(buf)) < 0) {
		snprintf(what, sizeof(what), "read %s/%s", BANK_PARAMS, name);
		die_bank_errno(what);
	}
	printf("%s\n", buf);
	return 0;
}

/* transfer FROM TO N */
static int transfer_cmd(const char *device, int argc, char **argv, int i)
{
	struct bank_transfer t;
	int64_t from, to;
	int fd;

	memset(&t, 0, sizeof(t));
	from = amount_arg(argc, argv, i++, "transfer");
	to = amount_arg(argc, argv, i++, "transfer");
	t.amount = amount_arg(argc, argv, i++, "transfer");
	if (i < argc)
		die_usage("transfer: too many arguments");
	if (from < 0 || from > UINT32_MAX || to < 0 || to > UINT32_MAX)
		die_usage("transfer: accounts are numbers from 0");
	t.from = (uint32_t)from;
	t.to = (uint32_t)to;
	fd = bank_open(device, O_RDWR);
	bank_ioctl_or_die(fd, BANK_IOC_TRANSFER, &t, "ioctl BANK_IOC_TRANSFER");
	printf("account %u: %lld\naccount %u: %lld\n", t.from,
	       (long long)t.from_balance, t.to, (long long)t.to_balance);
	close(fd);
	return 0;
}

/* accounts: one line per account, then the total. */
static int accounts_cmd(const char *device, int argc, int i)
{
	struct bank_accounts all;
	long long total = 0;
	uint32_t a;
	int fd;

	if (i < argc)
		die_usage("accounts: too many arguments");
	memset(&all, 0, sizeof(all));
	fd = bank_open(device, O_RDONLY);
	bank_ioctl_or_die(fd, BANK_IOC_GET_ACCOUNTS, &all,
			  "ioctl BANK_IOC_GET_ACCOUNTS");
	for (a = 0; a < all.count && a < BANK_ACCOUNTS_MAX; a++) {
		printf("account %-3u %lld\n", a, (long long)all.balances[a]);
		total += all.balances[a];
	}
	printf("total       %lld\n", total);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *device = BANK_DEVICE;
	struct bank_stats st;
	struct bank_op op;
	const char *cmd;
	int64_t value;
	int i = 1, fd;

	set_progname(argv[0]);
	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage();
			return 0;
		} else if (!strcmp(argv[i], "-d") && i + 1 < argc) {
			device = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--device=", 9)) {
			device = argv[i] + 9;
			i++;
		} else {
			die_usage("unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc)
		die_usage("missing command");
	cmd = argv[i++];

	if (!strcmp(cmd, "lock"))
		return param_cmd("lock", argc, argv, i);
	if (!strcmp(cmd, "delay"))
		return param_cmd("delay_us", argc, argv, i);
	if (!strcmp(cmd, "order"))
		return param_cmd("lock_order", argc, argv, i);
	if (!strcmp(cmd, "transfer"))
		return transfer_cmd(device, argc, argv, i);
	if (!strcmp(cmd, "accounts"))
		return accounts_cmd(device, argc, i);

	memset(&op, 0, sizeof(op));
	if (!strcmp(cmd, "balance") || !strcmp(cmd, "stats")) {
		if (i < argc)
			die_usage("%s: too many arguments", cmd);
		fd = bank_open(device, O_RDONLY);
		if (!strcmp(cmd, "balance")) {
			bank_ioctl_or_die(fd, BANK_IOC_GET_BALANCE, &value,
					  "ioctl BANK_IOC_GET_BALANCE");
			printf("%lld\n", (long long)value);
		} else {
			bank_ioctl_or_die(fd, BANK_IOC_GET_STATS, &st,
					  "ioctl BANK_IOC_GET_STATS");
			print_stats(&st);
		}
	} else if (!strcmp(cmd, "set")) {
		value = amount_arg(argc, argv, i++, cmd);
		if (i < argc)
			die_usage("%s: too many arguments", cmd);
		fd = bank_open(device, O_RDWR);
		bank_ioctl_or_die(fd, BANK_IOC_SET_BALANCE, &value,
				  "ioctl BANK_IOC_SET_BALANCE");
	} else if (!strcmp(cmd, "deposit")) {
		op.amount = amount_arg(argc, argv, i++, cmd);
		if (i < argc)
			die_usage("%s: too many arguments", cmd);
		fd = bank_open(device, O_RDWR);
		bank_ioctl_or_die(fd, BANK_IOC_DEPOSIT, &op,
				  "ioctl BANK_IOC_DEPOSIT");
		printf("%lld\n", (long long)op.balance);
	} else if (!strcmp(cmd, "withdraw")) {
		int flags = O_RDWR;

		op.amount = amount_arg(argc, argv, i++, cmd);
		if (i < argc && !strcmp(argv[i], "--nonblock")) {
			flags |= O_NONBLOCK;
			i++;
		}
		if (i < argc)
			die_usage("%s: unexpected '%s'", cmd, argv[i]);
		fd = bank_open(device, flags);
		bank_ioctl_or_die(fd, BANK_IOC_WITHDRAW, &op,
				  "ioctl BANK_IOC_WITHDRAW");
		printf("%lld\n", (long long)op.balance);
	} else {
		die_usage("unknown command '%s'", cmd);
	}
	close(fd);
	return 0;
}
