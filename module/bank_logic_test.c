// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of bank_logic.h: amount validation, overflow, the batch's
 * all-or-nothing arithmetic and the lock-mode names. Built only against a
 * kernel with CONFIG_KUNIT (the debug kernel); `make check-debug` loads it
 * and reads the results from /sys/kernel/debug/kunit/bank_logic/results.
 */
#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/module.h>

#include "bank_logic.h"

static void bank_logic_deposit(struct kunit *test)
{
	s64 r = 42;

	KUNIT_EXPECT_EQ(test, bank_deposit_result(200, 1, &r), 0);
	KUNIT_EXPECT_EQ(test, r, 201);
	KUNIT_EXPECT_EQ(test, bank_deposit_result(S64_MAX - 1, 1, &r), 0);
	KUNIT_EXPECT_EQ(test, r, S64_MAX);

	r = 42;
	KUNIT_EXPECT_EQ(test, bank_deposit_result(200, 0, &r), -EINVAL);
	KUNIT_EXPECT_EQ(test, bank_deposit_result(200, -1, &r), -EINVAL);
	KUNIT_EXPECT_EQ(test, bank_deposit_result(200, S64_MIN, &r), -EINVAL);
	KUNIT_EXPECT_EQ(test, bank_deposit_result(S64_MAX, 1, &r), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, bank_deposit_result(1, S64_MAX, &r), -EOVERFLOW);
	/* A failed call leaves the result alone. */
	KUNIT_EXPECT_EQ(test, r, 42);
}

static void bank_logic_withdraw(struct kunit *test)
{
	s64 r = 42;

	KUNIT_EXPECT_EQ(test, bank_withdraw_result(200, 200, &r), 0);
	KUNIT_EXPECT_EQ(test, r, 0);
	KUNIT_EXPECT_EQ(test, bank_withdraw_result(S64_MAX, S64_MAX, &r), 0);
	KUNIT_EXPECT_EQ(test, r, 0);

	r = 42;
	KUNIT_EXPECT_EQ(test, bank_withdraw_result(200, 201, &r), -EAGAIN);
	KUNIT_EXPECT_EQ(test, bank_withdraw_result(0, 1, &r), -EAGAIN);
	KUNIT_EXPECT_EQ(test, bank_withdraw_result(200, 0, &r), -EINVAL);
	KUNIT_EXPECT_EQ(test, bank_withdraw_result(200, -5, &r), -EINVAL);
	KUNIT_EXPECT_EQ(test, r, 42);
}

static void bank_logic_batch(struct kunit *test)
{
	const s64 ok[] = { 10, -210, 5 };
	const s64 overdraw[] = { 10, -211 };
	const s64 overflow[] = { -1, S64_MAX, -S64_MAX };
	const s64 zero[] = { 1, 0 };
	const s64 minimum[] = { S64_MIN };
	s64 r = 42;

	KUNIT_EXPECT_EQ(test, bank_batch_result(200, ok, ARRAY_SIZE(ok), &r), 0);
	KUNIT_EXPECT_EQ(test, r, 5);

	r = 42;
	/* Each intermediate balance counts, not only the sum. */
	KUNIT_EXPECT_EQ(test, bank_batch_result(200, overdraw,
						ARRAY_SIZE(overdraw), &r), -EAGAIN);
	KUNIT_EXPECT_EQ(test, bank_batch_result(200, overflow,
						ARRAY_SIZE(overflow), &r), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, bank_batch_result(200, zero, ARRAY_SIZE(zero), &r),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, bank_batch_result(200, minimum,
						ARRAY_SIZE(minimum), &r), -EINVAL);
	KUNIT_EXPECT_EQ(test, r, 42);
}

static void bank_logic_lock_names(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, bank_parse_lock("none"), BANK_LOCK_NONE);
	KUNIT_EXPECT_EQ(test, bank_parse_lock("spinlock"), BANK_LOCK_SPINLOCK);
	KUNIT_EXPECT_EQ(test, bank_parse_lock("mutex"), BANK_LOCK_MUTEX);
	KUNIT_EXPECT_EQ(test, bank_parse_lock("atomic\n"), BANK_LOCK_ATOMIC);
	KUNIT_EXPECT_EQ(test, bank_parse_lock(""), -EINVAL);
	KUNIT_EXPECT_EQ(test, bank_parse_lock("Mutex"), -EINVAL);
	KUNIT_EXPECT_EQ(test, bank_parse_lock("mutex "), -EINVAL);
	KUNIT_EXPECT_EQ(test, bank_parse_lock("spin"), -EINVAL);
	KUNIT_EXPECT_STREQ(test, bank_lock_names[BANK_LOCK_ATOMIC], "atomic");
}

static struct kunit_case bank_logic_cases[] = {
	KUNIT_CASE(bank_logic_deposit),
	KUNIT_CASE(bank_logic_withdraw),
	KUNIT_CASE(bank_logic_batch),
	KUNIT_CASE(bank_logic_lock_names),
	{}
};

static struct kunit_suite bank_logic_suite = {
	.name = "bank_logic",
	.test_cases = bank_logic_cases,
};

kunit_test_suite(bank_logic_suite);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The kbank authors");
MODULE_DESCRIPTION("KUnit tests of kbank's pure logic");
