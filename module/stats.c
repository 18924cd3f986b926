// SPDX-License-Identifier: GPL-2.0
/*
 * Account 0 as a whole: the statistics of its updates, and the two calls
 * that must see the balance and the statistics together, a reset and a
 * snapshot, each under account 0's lock of the mode in force.
 */
#include "bank.h"

#include <linux/string.h>

#include "bank_trace.h"

/*
 * What happened since the last reset (see struct bank_counters). Reset
 * under the mode's lock (in mode atomic, bank_atomic_rwsem held
 * exclusively, then bank_interest_lock).
 */
struct bank_counters bank_counts;

/* Record a successful request in the statistics. */
void bank_count_success(const struct bank_req *req, s64 delta)
{
	atomic64_add(delta, &bank_counts.expected);
	if (req->change.deposits)
		atomic64_add(req->change.deposits, &bank_counts.deposits);
	if (req->change.withdrawals)
		atomic64_add(req->change.withdrawals, &bank_counts.withdrawals);
}

/*
 * Run @fn(@arg) under account 0's lock of the mode in force, for resets and
 * snapshots: 0, or -ERESTARTSYS if a signal came first (nothing done).
 */
static int bank_call_locked(void (*fn)(void *arg), void *arg)
{
	struct bank_ledger *a = &bank_ledgers[0];
	unsigned long flags;

	switch (bank_mode) {
	case BANK_LOCK_SPINLOCK:
		if (bank_spin_enter())
			return -ERESTARTSYS;
		flags = bank_payer_block();	/* see interest.c */
		spin_lock(&a->spinlock);
		fn(arg);
		spin_unlock(&a->spinlock);
		bank_payer_unblock(flags);
		bank_spin_leave();
		break;
	case BANK_LOCK_MUTEX:
		if (mutex_lock_interruptible(&a->mutex))
			return -ERESTARTSYS;
		fn(arg);
		mutex_unlock(&a->mutex);
		break;
	case BANK_LOCK_ATOMIC:
		if (down_write_killable(&bank_atomic_rwsem))
			return -ERESTARTSYS;
		/* The rwsem keeps the tasks out, this the payer (interest.c). */
		flags = bank_payer_block();
		spin_lock(&bank_interest_lock);
		fn(arg);
		spin_unlock(&bank_interest_lock);
		bank_payer_unblock(flags);
		up_write(&bank_atomic_rwsem);
		break;
	default:
		fn(arg);
		break;
	}
	return 0;
}

static void bank_reset_fn(void *arg)
{
	struct bank_ledger *a = &bank_ledgers[0];
	s64 balance = *(s64 *)arg;

	if (bank_mode == BANK_LOCK_ATOMIC)
		atomic64_set(&a->abalance, balance);
	else
		WRITE_ONCE(a->balance, balance);
	trace_bank_reset(balance, bank_mode);
	atomic64_set(&bank_counts.expected, balance);
	atomic64_set(&bank_counts.deposits, 0);
	atomic64_set(&bank_counts.withdrawals, 0);
	atomic64_set(&bank_counts.contended, 0);
	atomic64_set(&bank_counts.waits, 0);
}

/* Set account 0 to @balance (>= 0), reset the statistics, wake withdrawers. */
int bank_reset(s64 balance)
{
	int ret;

	ret = bank_call_locked(bank_reset_fn, &balance);
	if (!ret)
		bank_funds_reset();
	return ret;
}

static void bank_snapshot_fn(void *arg)
{
	struct bank_stats *st = arg;

	st->balance = bank_peek(&bank_ledgers[0]);
	st->expected = atomic64_read(&bank_counts.expected);
	st->deposits = atomic64_read(&bank_counts.deposits);
	st->withdrawals = atomic64_read(&bank_counts.withdrawals);
	st->contended = atomic64_read(&bank_counts.contended);
	st->waits = atomic64_read(&bank_counts.waits);
	trace_bank_snapshot(st->balance, st->expected);
}

/* Fill @st with the balance and the statistics, consistent under the lock. */
int bank_snapshot(struct bank_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->lock = bank_mode;
	st->delay_us = bank_delay_in_force();
	return bank_call_locked(bank_snapshot_fn, st);
}
