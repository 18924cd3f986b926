// SPDX-License-Identifier: GPL-2.0
/*
 * suite-ioctls: every ioctl and its errors, in every lock mode, with the
 * balance and the counters checked unchanged after each refusal; the batch,
 * all or nothing; read() and sysfs.
 *
 * suite-ioctls --help: how to run it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

TEST_F(lock_mode, deposit_withdraw_return_balance)
{
	struct bank_stats st;
	int64_t b = -1;
	int fd;

	setup(variant->lock, 200);
	fd = dev_open(O_RDWR);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 5, &b), 0);
	EXPECT_EQ(b, 205);
	EXPECT_EQ(op(fd, BANK_IOC_WITHDRAW, 7, &b), 0);
	EXPECT_EQ(b, 198);
	EXPECT_EQ(op(fd, BANK_IOC_WITHDRAW, 198, &b), 0);
	EXPECT_EQ(b, 0);
	close(fd);
	st = get_stats();
	EXPECT_EQ(st.balance, 0);
	EXPECT_EQ(st.expected, 0);
	EXPECT_EQ(st.deposits, 1);
	EXPECT_EQ(st.withdrawals, 2);
	EXPECT_EQ(st.waits, 0);
	EXPECT_EQ(get_balance(), 0);
}

TEST_F(lock_mode, amount_not_positive_einval)
{
	static const int64_t bad[] = { 0, -1, INT64_MIN };
	struct bank_stats before;
	unsigned int i;
	int fd;

	setup(variant->lock, 200);
	before = get_stats();
	fd = dev_open(O_RDWR);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, bad[i], NULL), EINVAL);
		EXPECT_EQ(op(fd, BANK_IOC_WITHDRAW, bad[i], NULL), EINVAL);
	}
	close(fd);
	expect_unchanged(&before);
}

TEST_F(lock_mode, deposit_past_s64_max_eoverflow)
{
	struct bank_stats before;
	int64_t b = -1;
	int fd;

	setup(variant->lock, INT64_MAX - 1);
	before = get_stats();
	fd = dev_open(O_RDWR);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 2, NULL), EOVERFLOW);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, INT64_MAX, NULL), EOVERFLOW);
	expect_unchanged(&before);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 1, &b), 0);
	EXPECT_EQ(b, INT64_MAX);
	close(fd);
}

TEST(set_balance_resets_counters)
{
	struct bank_stats st;
	int64_t v;
	int fd;

	setup("mutex", 200);
	fd = dev_open(O_RDWR);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 10, NULL), 0);
	v = -1;
	EXPECT_ERRNO(ioctl(fd, BANK_IOC_SET_BALANCE, &v), EINVAL);
	st = get_stats();
	EXPECT_EQ(st.balance, 210);
	EXPECT_EQ(st.deposits, 1);
	v = 7;
	EXPECT_EQ(ioctl(fd, BANK_IOC_SET_BALANCE, &v), 0);
	close(fd);
	st = get_stats();
	EXPECT_EQ(st.balance, 7);
	EXPECT_EQ(st.expected, 7);
	EXPECT_EQ(st.deposits, 0);
	EXPECT_EQ(st.withdrawals, 0);
	EXPECT_EQ(st.contended, 0);
}

TEST(readonly_descriptor_ebadf)
{
	struct bank_op o = { .amount = 1 };
	struct bank_batch bt = { 0 };
	struct bank_stats before, st;
	int64_t v = 5, amounts[1] = { 1 };
	int fd;

	setup("mutex", 200);
	before = get_stats();
	fd = dev_open(O_RDONLY);
	EXPECT_ERRNO(ioctl(fd, BANK_IOC_DEPOSIT, &o), EBADF);
	EXPECT_ERRNO(ioctl(fd, BANK_IOC_WITHDRAW, &o), EBADF);
	EXPECT_ERRNO(ioctl(fd, BANK_IOC_SET_BALANCE, &v), EBADF);
	bt.amounts = (uintptr_t)amounts;
	bt.count = 1;
	EXPECT_ERRNO(ioctl(fd, BANK_IOC_BATCH, &bt), EBADF);
	/* The getters work on any descriptor. */
	EXPECT_EQ(ioctl(fd, BANK_IOC_GET_BALANCE, &v), 0);
	EXPECT_EQ(v, 200);
	EXPECT_EQ(ioctl(fd, BANK_IOC_GET_STATS, &st), 0);
	EXPECT_EQ(st.balance, 200);
	close(fd);
	expect_unchanged(&before);
}

TEST(unknown_command_enotty)
{
	struct bank_op o = { .amount = 1 };
	struct bank_stats before;
	int fd;

	setup("mutex", 200);
	before = get_stats();
	fd = dev_open(O_RDWR);
	EXPECT_ERRNO(ioctl(fd, _IO(BANK_IOC_MAGIC, 0x3f)), ENOTTY);
	/* Right number, wrong size or direction: a different command. */
	EXPECT_ERRNO(ioctl(fd, _IOWR(BANK_IOC_MAGIC, 0x00, int64_t), &o), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IOW(BANK_IOC_MAGIC, 0x00, struct bank_op), &o), ENOTTY);
	EXPECT_ERRNO(ioctl(fd, _IOWR('x', 0x00, struct bank_op), &o), ENOTTY);
	close(fd);
	expect_unchanged(&before);
}

TEST(bad_pointers_efault)
{
	static const unsigned long cmds[] = {
		BANK_IOC_DEPOSIT, BANK_IOC_WITHDRAW, BANK_IOC_GET_BALANCE,
		BANK_IOC_SET_BALANCE, BANK_IOC_GET_STATS, BANK_IOC_BATCH,
	};
	struct bank_stats before;
	void *unmapped;
	unsigned int i;
	int fd;

	setup("mutex", 200);
	before = get_stats();
	unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(unmapped != MAP_FAILED);
	fd = dev_open(O_RDWR);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		EXPECT_ERRNO(ioctl(fd, cmds[i], NULL), EFAULT);
		EXPECT_ERRNO(ioctl(fd, cmds[i], unmapped), EFAULT);
	}
	close(fd);
	expect_unchanged(&before);
}

static int batch(int fd, const int64_t *amounts, uint32_t count,
		 uint32_t flags, int64_t *balance)
{
	struct bank_batch bt = {
		.amounts = (uintptr_t)amounts, .count = count, .flags = flags,
		.balance = -1,
	};

	if (ioctl(fd, BANK_IOC_BATCH, &bt) < 0)
		return errno;
	if (balance)
		*balance = bt.balance;
	return 0;
}

TEST_F(lock_mode, batch_all_or_nothing)
{
	static int64_t big[BANK_BATCH_MAX + 1];
	const int64_t ok[] = { 10, -5, 3, -8 };
	const int64_t zero[] = { 1, 0, 1 };
	const int64_t minimum[] = { 1, INT64_MIN };
	const int64_t overdraw[] = { 100, -250, -51 };	/* fails at the third */
	const int64_t overflow[] = { -1, INT64_MAX, -INT64_MAX };
	struct bank_stats before, st;
	unsigned int i;
	int64_t b = -1;
	int fd;

	setup(variant->lock, 200);
	fd = dev_open(O_RDWR);
	EXPECT_EQ(batch(fd, ok, 4, 0, &b), 0);
	EXPECT_EQ(b, 200);
	st = get_stats();
	EXPECT_EQ(st.deposits, 2);
	EXPECT_EQ(st.withdrawals, 2);
	EXPECT_EQ(st.expected, 200);

	/* Each failure leaves everything as it was, even when earlier
	 * entries of the batch were fine. */
	before = get_stats();
	EXPECT_EQ(batch(fd, ok, 0, 0, NULL), EINVAL);
	EXPECT_EQ(batch(fd, ok, 4, 1, NULL), EINVAL);
	EXPECT_EQ(batch(fd, zero, 3, 0, NULL), EINVAL);
	EXPECT_EQ(batch(fd, minimum, 2, 0, NULL), EINVAL);
	EXPECT_EQ(batch(fd, overdraw, 3, 0, NULL), EAGAIN);
	EXPECT_EQ(batch(fd, overflow, 3, 0, NULL), EOVERFLOW);
	EXPECT_EQ(batch(fd, (const int64_t *)8, 4, 0, NULL), EFAULT);
	for (i = 0; i <= BANK_BATCH_MAX; i++)
		big[i] = 1;
	EXPECT_EQ(batch(fd, big, BANK_BATCH_MAX + 1, 0, NULL), E2BIG);
	EXPECT_EQ(batch(fd, big, UINT32_MAX, 0, NULL), E2BIG);
	close(fd);
	expect_unchanged(&before);

	fd = dev_open(O_RDWR);
	EXPECT_EQ(batch(fd, big, BANK_BATCH_MAX, 0, &b), 0);
	EXPECT_EQ(b, 200 + BANK_BATCH_MAX);
	close(fd);
	EXPECT_EQ(get_stats().deposits, before.deposits + BANK_BATCH_MAX);
}

TEST(cat_dev_bank)
{
	char buf[64];
	ssize_t n;
	int fd;
	FILE *p;

	setup("mutex", 4242);
	fd = dev_open(O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	ASSERT_EQ(n, 5);
	EXPECT_TRUE(memcmp(buf, "4242\n", 5) == 0);
	EXPECT_EQ(read(fd, buf, sizeof(buf)), 0);	/* one line, then EOF */
	close(fd);
	p = popen("cat " BANK_DEVICE, "r");
	ASSERT_TRUE(p != NULL);
	ASSERT_TRUE(fgets(buf, sizeof(buf), p) != NULL);
	EXPECT_TRUE(strcmp(buf, "4242\n") == 0);
	EXPECT_EQ(pclose(p), 0);
}

/*
 * Read one byte per read() while the balance flips between 999 and 1000:
 * every line must be one of the two balances, never a mix of them ("990").
 */
TEST(cat_dev_bank_byte_by_byte_never_torn)
{
	long torn = 0, lines = 0;
	pid_t flipper;
	int i;

	setup("mutex", 999);
	flipper = fork();
	ASSERT_TRUE(flipper >= 0);
	if (flipper == 0) {
		int fd = dev_open(O_RDWR);

		for (;;) {
			op(fd, BANK_IOC_DEPOSIT, 1, NULL);
			op(fd, BANK_IOC_WITHDRAW, 1, NULL);
		}
	}
	for (i = 0; i < 2000; i++) {
		char line[16];
		size_t len = 0;
		int fd = dev_open(O_RDONLY);

		while (len < sizeof(line) - 1 && read(fd, line + len, 1) == 1)
			len++;
		line[len] = '\0';
		close(fd);
		lines++;
		if (strcmp(line, "999\n") && strcmp(line, "1000\n")) {
			if (!torn)
				TH_LOG("torn line: \"%.*s\"", (int)strcspn(line, "\n"), line);
			torn++;
		}
	}
	kill(flipper, SIGKILL);
	waitpid(flipper, NULL, 0);
	TH_LOG("%ld lines read a byte at a time, %ld torn", lines, torn);
	EXPECT_EQ(torn, 0);
}

static long long sysfs_value(const char *name)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), "/sys/class/misc/bank/%s", name);
	ASSERT_EQ(read_line(path, buf, sizeof(buf)), 0);
	return atoll(buf);
}

TEST(sysfs_attributes_match_stats)
{
	struct bank_stats st;
	int fd;

	setup("spinlock", 100);
	fd = dev_open(O_RDWR);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 5, NULL), 0);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 6, NULL), 0);
	EXPECT_EQ(op(fd, BANK_IOC_WITHDRAW, 1, NULL), 0);
	close(fd);
	st = get_stats();
	EXPECT_EQ(sysfs_value("balance"), 110);
	EXPECT_EQ(sysfs_value("balance"), st.balance);
	EXPECT_EQ(sysfs_value("expected"), st.expected);
	EXPECT_EQ(sysfs_value("deposits"), 2);
	EXPECT_EQ(sysfs_value("withdrawals"), 1);
	EXPECT_EQ(sysfs_value("contended"), st.contended);
	EXPECT_EQ(sysfs_value("waits"), 0);
}

SUITE_MAIN("suite-ioctls: every ioctl and its errors, in every lock mode.")
