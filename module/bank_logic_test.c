// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of bank_logic.h: amount validation, overflow, the batch's
 * all-or-nothing arithmetic, its O(1) summary checked against it, and the
 * lock-mode names. Built only against a kernel with CONFIG_KUNIT (the debug
 * kernel); `make check-debug` loads it and reads the results from
 * /sys/kernel/debug/kunit/bank_logic/results.
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

/* The summary's counts, and its verdict on batches that must fail. */
static void bank_logic_change(struct kunit *test)
{
	const s64 mixed[] = { 10, -210, 5 };
	const s64 climb[] = { S64_MAX, -S64_MAX, S64_MAX };
	const s64 past[] = { S64_MAX, 1 };
	const s64 zero[] = { 1, 0 };
	struct bank_change c;
	s64 r = 42;

	KUNIT_ASSERT_EQ(test, bank_change_init(&c, mixed, ARRAY_SIZE(mixed)), 0);
	KUNIT_EXPECT_EQ(test, c.deposits, 2);
	KUNIT_EXPECT_EQ(test, c.withdrawals, 1);
	KUNIT_EXPECT_EQ(test, c.net, -195);
	KUNIT_EXPECT_EQ(test, c.low, -200);
	KUNIT_EXPECT_EQ(test, c.high, 10);
	KUNIT_EXPECT_EQ(test, bank_apply(200, &c, &r), 0);
	KUNIT_EXPECT_EQ(test, r, 5);
	r = 42;
	KUNIT_EXPECT_EQ(test, bank_apply(199, &c, &r), -EAGAIN);
	KUNIT_EXPECT_EQ(test, r, 42);

	/* Running totals that stay in s64 although the deposits do not. */
	KUNIT_ASSERT_EQ(test, bank_change_init(&c, climb, ARRAY_SIZE(climb)), 0);
	KUNIT_EXPECT_FALSE(test, c.overflowed);
	KUNIT_EXPECT_EQ(test, bank_apply(0, &c, &r), 0);
	KUNIT_EXPECT_EQ(test, r, S64_MAX);
	KUNIT_EXPECT_EQ(test, bank_apply(1, &c, &r), -EOVERFLOW);

	/* A running total past S64_MAX: no balance can take it. */
	KUNIT_ASSERT_EQ(test, bank_change_init(&c, past, ARRAY_SIZE(past)), 0);
	KUNIT_EXPECT_TRUE(test, c.overflowed);
	KUNIT_EXPECT_EQ(test, bank_apply(0, &c, &r), -EOVERFLOW);

	KUNIT_EXPECT_EQ(test, bank_change_init(&c, zero, ARRAY_SIZE(zero)),
			-EINVAL);
}

/* A small deterministic generator: the same cases on every run. */
static u64 bank_logic_next(u64 *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return *state >> 11;
}

/* An amount near one of the edges that matter: 1, a small value, S64_MAX. */
static s64 bank_logic_amount(u64 *state)
{
	u64 r = bank_logic_next(state);
	s64 a;

	switch (r % 4) {
	case 0:
		a = 1 + (s64)(r % 5);
		break;
	case 1:
		a = 100 + (s64)(r % 300);
		break;
	case 2:
		a = S64_MAX - (s64)(r % 3);
		break;
	default:
		a = S64_MAX / 2 + (s64)(r % 3);
		break;
	}
	return (r >> 20) & 1 ? -a : a;
}

/*
 * bank_apply() against the definition, bank_batch_result(), on 20,000
 * generated batches and balances: the same error, or the same result.
 */
static void bank_logic_apply_matches_batch(struct kunit *test)
{
	static const s64 balances[] = { 0, 1, 200, S64_MAX / 2, S64_MAX - 1,
					S64_MAX };
	u64 state = 1;
	int n;

	for (n = 0; n < 20000; n++) {
		struct bank_change c;
		s64 amounts[6], a = -1, b = -1, old;
		u32 count = 1 + bank_logic_next(&state) % ARRAY_SIZE(amounts);
		u32 i;

		for (i = 0; i < count; i++)
			amounts[i] = bank_logic_amount(&state);
		old = balances[bank_logic_next(&state) % ARRAY_SIZE(balances)];
		KUNIT_ASSERT_EQ(test, bank_change_init(&c, amounts, count), 0);
		KUNIT_ASSERT_EQ(test, bank_apply(old, &c, &a),
				bank_batch_result(old, amounts, count, &b));
		KUNIT_ASSERT_EQ(test, a, b);
	}
}

static void bank_logic_transfer(struct kunit *test)
{
	s64 f = 42, t = 42;

	KUNIT_EXPECT_EQ(test, bank_transfer_result(200, 0, 200, &f, &t), 0);
	KUNIT_EXPECT_EQ(test, f, 0);
	KUNIT_EXPECT_EQ(test, t, 200);

	f = 42;
	t = 42;
	KUNIT_EXPECT_EQ(test, bank_transfer_result(200, 0, 201, &f, &t), -EAGAIN);
	KUNIT_EXPECT_EQ(test, bank_transfer_result(200, 0, 0, &f, &t), -EINVAL);
	KUNIT_EXPECT_EQ(test, bank_transfer_result(200, 0, -1, &f, &t), -EINVAL);
	KUNIT_EXPECT_EQ(test, bank_transfer_result(200, S64_MAX - 199, 200, &f, &t),
			-EOVERFLOW);
	/* A failed transfer writes neither balance. */
	KUNIT_EXPECT_EQ(test, f, 42);
	KUNIT_EXPECT_EQ(test, t, 42);
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
	KUNIT_CASE(bank_logic_change),
	KUNIT_CASE(bank_logic_apply_matches_batch),
	KUNIT_CASE(bank_logic_transfer),
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
