// SPDX-License-Identifier: GPL-2.0
/*
 * suite-device: the device and its module parameters: the misc device,
 * insmod with good and bad parameters, rmmod while open, and the lock mode
 * and delay_us switched at run time.
 *
 * suite-device --help: how to run it.
 */
#include <errno.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "helpers.h"

TEST(device_is_misc_char_device)
{
	struct stat st;

	ASSERT_EQ(stat(BANK_DEVICE, &st), 0);
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(major(st.st_rdev), 10);	/* MISC_MAJOR */
}

TEST(defaults_after_load)
{
	char buf[64];
	struct bank_stats st;

	reload("");
	ASSERT_EQ(bank_param_read("lock", buf, sizeof(buf)), 0);
	EXPECT_TRUE(strcmp(buf, "mutex") == 0);
	ASSERT_EQ(bank_param_read("initial_balance", buf, sizeof(buf)), 0);
	EXPECT_TRUE(strcmp(buf, "200") == 0);
	ASSERT_EQ(bank_param_read("delay_us", buf, sizeof(buf)), 0);
	EXPECT_TRUE(strcmp(buf, "0") == 0);
	st = get_stats();
	EXPECT_EQ(st.balance, 200);
	EXPECT_EQ(st.expected, 200);
	EXPECT_EQ(st.deposits, 0);
	EXPECT_EQ(st.withdrawals, 0);
	EXPECT_EQ(st.lock, BANK_LOCK_MUTEX);
	EXPECT_EQ(st.delay_us, 0);
}

TEST(insmod_with_params)
{
	struct bank_stats st;

	reload("lock=atomic initial_balance=5 delay_us=3");
	st = get_stats();
	EXPECT_EQ(st.lock, BANK_LOCK_ATOMIC);
	EXPECT_EQ(st.balance, 5);
	EXPECT_EQ(st.expected, 5);
	EXPECT_EQ(st.delay_us, 3);
	reload("");
}

TEST(insmod_bad_params_fail)
{
	static const char *const bad[] = {
		"lock=bogus", "lock=", "initial_balance=-1", "initial_balance=x",
		"delay_us=10001", "delay_us=-1", "accounts=0", "accounts=41",
		"accounts=65",
		"lock_order=sideways", "lock=spinlock lock_order=naive",
		"lock_order=naive lock=spinlock",
	};
	char log[1 << 16];
	unsigned int i;
	int n;

	ASSERT_EQ(mod_unload(), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(mod_load(bad[i]), EINVAL);
		EXPECT_TRUE(!module_loaded());
		if (module_loaded())
			ASSERT_EQ(mod_unload(), 0);
	}
	/* The kernel log says why, in the module's words. */
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, log, sizeof(log) - 1);
	ASSERT_TRUE(n > 0);
	log[n] = '\0';
	EXPECT_TRUE(strstr(log, "bank: lock=bogus: unknown lock mode") != NULL);
	EXPECT_TRUE(strstr(log, "bank: initial_balance=-1: must be >= 0") != NULL);
	ASSERT_EQ(mod_load(""), 0);
}

TEST(rmmod_refused_while_open)
{
	int fd = dev_open(O_RDONLY);

	EXPECT_EQ(mod_unload(), EWOULDBLOCK);
	EXPECT_TRUE(module_loaded());
	close(fd);
	EXPECT_EQ(mod_unload(), 0);
	EXPECT_TRUE(!module_loaded());
	EXPECT_TRUE(access(BANK_DEVICE, F_OK) != 0);
	ASSERT_EQ(mod_load(""), 0);
	EXPECT_EQ(get_balance(), 200);
}

/*
 * Into each mode from the one before it (none, spinlock, mutex, atomic,
 * in turn), and from it back to mutex: the balance stays, and the mode
 * switched to is the one in force.
 */
FIXTURE(lock_switch);
FIXTURE_VARIANT(lock_switch) {
	const char *from, *lock;
	unsigned int id;
};
FIXTURE_VARIANT_ADD(lock_switch, none) {
	.from = "mutex", .lock = "none", .id = BANK_LOCK_NONE,
};
FIXTURE_VARIANT_ADD(lock_switch, spinlock) {
	.from = "none", .lock = "spinlock", .id = BANK_LOCK_SPINLOCK,
};
FIXTURE_VARIANT_ADD(lock_switch, mutex) {
	.from = "spinlock", .lock = "mutex", .id = BANK_LOCK_MUTEX,
};
FIXTURE_VARIANT_ADD(lock_switch, atomic) {
	.from = "mutex", .lock = "atomic", .id = BANK_LOCK_ATOMIC,
};

TEST_F(lock_switch, lock_switch_each_mode_keeps_balance)
{
	char buf[32];
	int64_t b = -1;
	int fd;

	setup(variant->from, 123);
	ASSERT_EQ(bank_param_write("lock", variant->lock), 0);
	ASSERT_EQ(bank_param_read("lock", buf, sizeof(buf)), 0);
	EXPECT_TRUE(strcmp(buf, variant->lock) == 0);
	EXPECT_EQ(get_stats().lock, variant->id);
	EXPECT_EQ(get_balance(), 123);
	fd = dev_open(O_RDWR);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 1, &b), 0);
	EXPECT_EQ(b, 124);
	close(fd);
	/* Back to a plain balance (from atomic: out of its atomic64_t). */
	ASSERT_EQ(bank_param_write("lock", "mutex"), 0);
	EXPECT_EQ(get_balance(), 124);
}

TEST(lock_switch_unknown_name_einval)
{
	setup("spinlock", 200);
	EXPECT_ERRNO(bank_param_write("lock", "bogus"), EINVAL);
	EXPECT_ERRNO(bank_param_write("lock", "mutexx"), EINVAL);
	EXPECT_ERRNO(bank_param_write("lock", "\n"), EINVAL);
	EXPECT_EQ(get_stats().lock, BANK_LOCK_SPINLOCK);
	/* A trailing newline, as `echo mutex >` writes, is accepted. */
	EXPECT_EQ(bank_param_write("lock", "mutex\n"), 0);
	EXPECT_EQ(get_stats().lock, BANK_LOCK_MUTEX);
}

TEST(lock_switch_while_open_ebusy)
{
	int fd;

	setup("mutex", 200);
	fd = dev_open(O_RDONLY);
	EXPECT_ERRNO(bank_param_write("lock", "atomic"), EBUSY);
	close(fd);
	EXPECT_EQ(get_stats().lock, BANK_LOCK_MUTEX);
	EXPECT_EQ(bank_param_write("lock", "atomic"), 0);
	EXPECT_EQ(get_stats().lock, BANK_LOCK_ATOMIC);
}

TEST(delay_us_bounds)
{
	char buf[32];

	setup("mutex", 200);
	EXPECT_EQ(bank_param_write("delay_us", "10000"), 0);
	EXPECT_EQ(get_stats().delay_us, 10000);
	EXPECT_ERRNO(bank_param_write("delay_us", "10001"), EINVAL);
	EXPECT_ERRNO(bank_param_write("delay_us", "-1"), EINVAL);
	EXPECT_ERRNO(bank_param_write("delay_us", "soon"), EINVAL);
	ASSERT_EQ(bank_param_read("delay_us", buf, sizeof(buf)), 0);
	EXPECT_TRUE(strcmp(buf, "10000") == 0);
	EXPECT_EQ(bank_param_write("delay_us", "0"), 0);
}

/* A spinlock holder busy-waits at most 1000 us; the others may sleep 10 ms. */
FIXTURE(delay_cap);
FIXTURE_VARIANT(delay_cap) {
	const char *lock;
	unsigned int delay_us;	/* in force after delay_us=10000 */
};
FIXTURE_VARIANT_ADD(delay_cap, none) { .lock = "none", .delay_us = 10000 };
FIXTURE_VARIANT_ADD(delay_cap, spinlock) { .lock = "spinlock", .delay_us = 1000 };
FIXTURE_VARIANT_ADD(delay_cap, mutex) { .lock = "mutex", .delay_us = 10000 };
FIXTURE_VARIANT_ADD(delay_cap, atomic) { .lock = "atomic", .delay_us = 10000 };

TEST_F(delay_cap, spinlock_delay_capped)
{
	setup(variant->lock, 200);
	EXPECT_EQ(bank_param_write("delay_us", "10000"), 0);
	EXPECT_EQ(get_stats().delay_us, variant->delay_us);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
}

SUITE_MAIN("suite-device: bank.ko's device and module parameters.")
