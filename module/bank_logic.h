/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pure logic of kbank: what an operation does to a balance, with no
 * locks and no shared state. The module calls it inside its critical
 * sections; the KUnit suite (bank_logic_test.c) calls it directly.
 */
#ifndef _BANK_LOGIC_H
#define _BANK_LOGIC_H

#include <linux/errno.h>
#include <linux/limits.h>
#include <linux/overflow.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/bank.h>

/* Indexed by BANK_LOCK_*: the names the "lock" parameter accepts. */
static const char * const bank_lock_names[] = {
	[BANK_LOCK_NONE]	= "none",
	[BANK_LOCK_SPINLOCK]	= "spinlock",
	[BANK_LOCK_MUTEX]	= "mutex",
	[BANK_LOCK_ATOMIC]	= "atomic",
};

/**
 * bank_parse_lock() - lock mode named by @name
 * @name: "none", "spinlock", "mutex" or "atomic", one trailing newline allowed
 *
 * Return: BANK_LOCK_*, or -EINVAL for any other name.
 */
static inline int bank_parse_lock(const char *name)
{
	return sysfs_match_string(bank_lock_names, name);
}

/**
 * bank_deposit_result() - balance after depositing @amount into @balance
 * @balance: the balance before
 * @amount:  the amount to deposit
 * @result:  the balance after, written only on success
 *
 * Return: 0, -EINVAL if @amount <= 0, -EOVERFLOW if the sum passes S64_MAX.
 */
static inline int bank_deposit_result(s64 balance, s64 amount, s64 *result)
{
	s64 sum;

	if (amount <= 0)
		return -EINVAL;
	if (check_add_overflow(balance, amount, &sum))
		return -EOVERFLOW;
	*result = sum;
	return 0;
}

/**
 * bank_withdraw_result() - balance after withdrawing @amount from @balance
 * @balance: the balance before, >= 0
 * @amount:  the amount to withdraw
 * @result:  the balance after, written only on success
 *
 * Return: 0, -EINVAL if @amount <= 0, -EAGAIN if @amount exceeds @balance.
 */
static inline int bank_withdraw_result(s64 balance, s64 amount, s64 *result)
{
	if (amount <= 0)
		return -EINVAL;
	if (amount > balance)
		return -EAGAIN;
	/* Cannot overflow: 0 < amount <= balance. */
	*result = balance - amount;
	return 0;
}

/**
 * bank_batch_result() - balance after applying a batch of signed amounts
 * @balance: the balance before
 * @amounts: the entries: > 0 deposits, < 0 withdrawals
 * @count:   number of entries
 * @result:  the balance after, written only on success
 *
 * Applies the entries in order, each checked as a single operation would be,
 * so that no intermediate balance overflows or goes below zero.
 *
 * Return: 0, or the first entry's error: -EINVAL for 0 or S64_MIN (which has
 * no positive counterpart), -EOVERFLOW, -EAGAIN.
 */
static inline int bank_batch_result(s64 balance, const s64 *amounts,
				    u32 count, s64 *result)
{
	u32 i;
	int ret;

	for (i = 0; i < count; i++) {
		s64 amount = amounts[i];

		if (amount == S64_MIN)
			return -EINVAL;
		if (amount < 0)
			ret = bank_withdraw_result(balance, -amount, &balance);
		else
			ret = bank_deposit_result(balance, amount, &balance);
		if (ret)
			return ret;
	}
	*result = balance;
	return 0;
}

#endif /* _BANK_LOGIC_H */
