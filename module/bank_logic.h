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
#include <linux/minmax.h>
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

/**
 * struct bank_change - a request, summed up once so that applying it is O(1)
 * @amounts:     the entries: > 0 deposits, < 0 withdrawals
 * @count:       number of entries
 * @deposits:    number of entries > 0
 * @withdrawals: number of entries < 0
 * @net:         the sum of the entries: what the balance gains
 * @low:         the lowest running total, <= 0: how far the entries dip
 * @high:        the highest running total, >= 0: how far they climb
 * @overflowed:  a running total left s64: no balance can take the entries
 *
 * The entries can be applied to @balance exactly when @balance + @low >= 0
 * and @balance + @high <= S64_MAX: every intermediate balance is @balance
 * plus a running total. Checking that is O(1), however many entries there
 * are, so a lock holder or a compare-and-swap retry never walks the array.
 */
struct bank_change {
	const s64 *amounts;
	u32 count;
	u32 deposits;
	u32 withdrawals;
	s64 net;
	s64 low;
	s64 high;
	bool overflowed;
};

/**
 * bank_change_init() - sum up @count entries at @amounts into @c
 * @c:       the summary, filled in on success
 * @amounts: the entries; they must stay in place while @c is used
 * @count:   number of entries
 *
 * Return: 0, or -EINVAL if an entry is 0 or S64_MIN (which has no positive
 * counterpart).
 */
static inline int bank_change_init(struct bank_change *c, const s64 *amounts,
				   u32 count)
{
	s64 total = 0;
	u32 i;

	memset(c, 0, sizeof(*c));
	c->amounts = amounts;
	c->count = count;
	for (i = 0; i < count; i++) {
		if (amounts[i] == 0 || amounts[i] == S64_MIN)
			return -EINVAL;
		if (amounts[i] > 0)
			c->deposits++;
		else
			c->withdrawals++;
		if (c->overflowed)
			continue;
		if (check_add_overflow(total, amounts[i], &total)) {
			c->overflowed = true;
			continue;
		}
		c->low = min(c->low, total);
		c->high = max(c->high, total);
	}
	c->net = total;
	return 0;
}

/**
 * bank_apply() - the balance after applying @c to @old: "new = old + amount"
 * @old:    the balance before, >= 0
 * @c:      the request, from bank_change_init()
 * @result: the balance after, written only on success
 *
 * When the summary proves that every intermediate balance stays within
 * 0..S64_MAX, the result is @old + @c->net. Otherwise the entries are
 * applied one by one, which finds the first one that fails and its error:
 * O(count), once per decision (mode atomic decides again when its
 * compare-and-swap loses, at most BANK_CAS_TRIES times).
 *
 * Return: 0, -EAGAIN (an overdraft) or -EOVERFLOW.
 */
static inline int bank_apply(s64 old, const struct bank_change *c,
			     s64 *result)
{
	if (!c->overflowed && old + c->low >= 0 && c->high <= S64_MAX - old) {
		*result = old + c->net;
		return 0;
	}
	return bank_batch_result(old, c->amounts, c->count, result);
}

/**
 * bank_transfer_result() - both balances after moving @amount
 * @from:     the balance to take from, >= 0
 * @to:       the balance to pay into, >= 0
 * @amount:   how much
 * @new_from: @from after, written only on success
 * @new_to:   @to after, written only on success
 *
 * Return: 0, -EINVAL if @amount <= 0, -EAGAIN if @from holds less than
 * @amount, -EOVERFLOW if @to would pass S64_MAX. Nothing written on error.
 */
static inline int bank_transfer_result(s64 from, s64 to, s64 amount,
				       s64 *new_from, s64 *new_to)
{
	s64 f, t;
	int ret;

	ret = bank_withdraw_result(from, amount, &f);
	if (ret)
		return ret;
	ret = bank_deposit_result(to, amount, &t);
	if (ret)
		return ret;
	*new_from = f;
	*new_to = t;
	return 0;
}

#endif /* _BANK_LOGIC_H */
