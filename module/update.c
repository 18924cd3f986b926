// SPDX-License-Identifier: GPL-2.0
/*
 * The lesson: one balance (account 0), many processes updating it, and four
 * ways to keep them from losing each other's updates. Each mode has its
 * own function below, side by side, each the same read, delay and write
 * back:
 *
 *   bank_update_none()      no lock: the race, on purpose
 *   bank_update_spinlock()  a spinlock: the holder must not sleep
 *   bank_update_mutex()     a mutex: the holder may sleep
 *   bank_update_atomic()    no lock: a compare-and-swap loop
 *
 * bank_update() calls the one that the parameter "lock" names (mode.c).
 * The lab's tasks 1 to 3 are here.
 */
#include "bank.h"

#include <linux/delay.h>

#include "bank_trace.h"

/* See bank.h: an update holds it shared, a reset or snapshot exclusively. */
DECLARE_RWSEM(bank_atomic_rwsem);

/*
 * Mode spinlock: who may be at a bank spinlock. A task waiting for a
 * spinlock spins with preemption off, and account 0's holder may
 * busy-wait up to BANK_SPIN_DELAY_MAX_US: with k tasks waiting on k CPUs,
 * the last in line would spin k times that. So at most two tasks are ever
 * at the spinlocks, one holding and one spinning; the others sleep here,
 * killable, in the order they came (see bank_spin_enter()). Then a
 * spinner waits for one holder's section at most, however many tasks
 * and CPUs there are.
 */
static struct semaphore bank_spin_slots;

void bank_spin_slots_init(void)
{
	sema_init(&bank_spin_slots, 2);
}

/* Mode spinlock: a place at the spinlocks (bank_spin_slots), or -EINTR. */
int bank_spin_enter(void)
{
	return down_killable(&bank_spin_slots) ? -EINTR : 0;
}

void bank_spin_leave(void)
{
	up(&bank_spin_slots);
}

/* delay_us as the mode in force may use it: see BANK_SPIN_DELAY_MAX_US. */
unsigned int bank_delay_in_force(void)
{
	unsigned int us = READ_ONCE(bank_delay_us);

	if (bank_mode == BANK_LOCK_SPINLOCK)
		return min(us, BANK_SPIN_DELAY_MAX_US);
	return us;
}

int bank_req_init(struct bank_req *req, const s64 *amounts, u32 count)
{
	req->delay_us = bank_delay_in_force();
	return bank_change_init(&req->change, amounts, count);
}

/*
 * The window between read and write back: it is what makes a race visible.
 * Only a spinlock holder must not sleep; it busy-waits, in milliseconds
 * (mdelay) and then microseconds, as udelay() is meant for short waits.
 */
void bank_delay(unsigned int us, bool may_sleep)
{
	if (!us)
		return;
	if (may_sleep) {
		fsleep(us);
		return;
	}
	if (us >= 1000)
		mdelay(us / 1000);
	udelay(us % 1000);
}

/*
 * Mode none. RACE, ON PURPOSE: two CPUs can both read the same balance,
 * and the second write back erases the first one's update (a lost update).
 * The accesses are plain, unmarked, so that KCSAN sees the data race; this
 * is the bug that every other mode fixes. noinline and __noclone keep this
 * function's name, exactly, in KCSAN's report.
 */
static noinline __noclone int
bank_update_none(struct bank_ledger *a, const struct bank_req *req,
		 s64 *balance)
{
	s64 old, new;
	int ret;

	old = a->balance;
	trace_bank_read(old, req->change.net, BANK_LOCK_NONE);
	bank_delay(req->delay_us, true);
	ret = bank_apply(old, &req->change, &new);	/* new = old + amount */
	if (ret)
		return ret;
	/*
	 * Traced before the store: a task that reads this value then has a
	 * later timestamp than this event, whatever delays either CPU.
	 */
	trace_bank_write(old, new, new - old, BANK_LOCK_NONE);
	a->balance = new;
	bank_count_success(req, new - old);
	*balance = new;
	return 0;
}

/* Modes spinlock and mutex: write back @new and account for it. */
static void bank_write_back(struct bank_ledger *a, const struct bank_req *req,
			    s64 old, s64 new, s64 *balance)
{
	/*
	 * Traced before the store: a task that reads this value then has a
	 * later timestamp than this event, whatever delays either CPU.
	 */
	trace_bank_write(old, new, new - old, bank_mode);
	WRITE_ONCE(a->balance, new);
	bank_count_success(req, new - old);
	*balance = new;
}

/*
 * Mode spinlock: the same read, delay and write back as mode none, but
 * under the lock, so that no other update can come in between. The holder
 * busy-waits: it must not sleep.
 */
static int bank_update_spinlock(struct bank_ledger *a,
				const struct bank_req *req, s64 *balance)
{
	s64 old, new;
	int ret;

	/* exercise 1: no other update between this read and the write back */
	if (!spin_trylock(&a->spinlock)) {
		atomic64_inc(&bank_counts.contended);
		trace_bank_lock_wait(BANK_LOCK_SPINLOCK);
		spin_lock(&a->spinlock);
		trace_bank_lock_acquired(BANK_LOCK_SPINLOCK);
	}
	/* end exercise */
	old = a->balance;
	trace_bank_read(old, req->change.net, BANK_LOCK_SPINLOCK);
	bank_delay(req->delay_us, false);
	ret = bank_apply(old, &req->change, &new);
	if (ret)
		goto out_unlock;
	bank_write_back(a, req, old, new, balance);
out_unlock:
	/* exercise 1 */
	spin_unlock(&a->spinlock);
	/* end exercise */
	return ret;
}

/* Mode mutex: the same, but a waiter sleeps, and so may the holder. */
static int bank_update_mutex(struct bank_ledger *a, const struct bank_req *req,
			     s64 *balance)
{
	s64 old, new;
	int ret;

	/* exercise 2: the same, with a lock whose holder may sleep */
	if (!mutex_trylock(&a->mutex)) {
		atomic64_inc(&bank_counts.contended);
		trace_bank_lock_wait(BANK_LOCK_MUTEX);
		/* A signal ends the wait: nothing done. */
		if (mutex_lock_interruptible(&a->mutex))
			return -ERESTARTSYS;
		trace_bank_lock_acquired(BANK_LOCK_MUTEX);
	}
	/* end exercise */
	old = a->balance;
	trace_bank_read(old, req->change.net, BANK_LOCK_MUTEX);
	bank_delay(req->delay_us, true);
	ret = bank_apply(old, &req->change, &new);
	if (ret)
		goto out_unlock;
	bank_write_back(a, req, old, new, balance);
out_unlock:
	/* exercise 2 */
	mutex_unlock(&a->mutex);
	/* end exercise */
	return ret;
}

/*
 * Mode atomic: compute the new balance from a snapshot, then install it only
 * if the balance still equals the snapshot. If another CPU got in between,
 * atomic64_try_cmpxchg() fails, refreshes the snapshot and we compute again:
 * an update is never lost. A refusal (overdraft, overflow) is decided the
 * same way: it installs the snapshot itself, which succeeds only if the
 * balance still is the snapshot, so a withdrawal is refused on the value
 * that is really there, not on one read before the delay. A plain
 * atomic64_add() could not refuse an overflow, so deposits take the same
 * loop.
 *
 * The delay comes once, before the loop: a retry is O(1) (bank_apply()),
 * so its window is a few instructions wide. (A refused batch walks its
 * entries to find which one failed: at most once per try, with preemption
 * on.) A caller that loses
 * BANK_CAS_TRIES times in a row stops the other updates (the rwsem,
 * exclusively): then only the interest payer, which cannot take the rwsem
 * (interest.c), can make it lose, once a tick at most. Nobody starves,
 * however fast the others go.
 */
static int bank_update_atomic(struct bank_ledger *a, const struct bank_req *req,
			      s64 *balance)
{
	/* exercise 3: what your code below needs declared (C wants it first) */
	unsigned int tries;
	/* end exercise */
	s64 old, new;
	int ret;

	old = atomic64_read(&a->abalance);
	trace_bank_read(old, req->change.net, BANK_LOCK_ATOMIC);
	bank_delay(req->delay_us, true);

	if (down_read_killable(&bank_atomic_rwsem))
		return -EINTR;
	/* exercise 3: never lose an update, never overdraw, with no lock */
	for (tries = 0; tries < BANK_CAS_TRIES; tries++) {
		s64 expected = old;

		ret = bank_apply(old, &req->change, &new);
		if (ret)
			new = old;	/* refuse, if old is still the balance */
		if (atomic64_try_cmpxchg(&a->abalance, &old, new)) {
			if (ret)
				goto out_unlock_shared;
			trace_bank_write(old, new, new - old, BANK_LOCK_ATOMIC);
			goto out_account_shared;
		}
		/* old is now the value found: the next try computes from it. */
		trace_bank_cas_retry(expected, old, tries + 1);
		if (!tries)
			atomic64_inc(&bank_counts.contended);
	}
	up_read(&bank_atomic_rwsem);

	if (down_write_killable(&bank_atomic_rwsem))
		return -EINTR;
	old = atomic64_read(&a->abalance);
	trace_bank_read(old, req->change.net, BANK_LOCK_ATOMIC);
	/* Only the interest payer can still get in between, once a tick. */
	do {
		ret = bank_apply(old, &req->change, &new);
	} while (!ret && !atomic64_try_cmpxchg(&a->abalance, &old, new));
	if (!ret) {
		trace_bank_write(old, new, new - old, BANK_LOCK_ATOMIC);
		bank_count_success(req, new - old);
		*balance = new;
	}
	up_write(&bank_atomic_rwsem);
	return ret;

out_account_shared:
	bank_count_success(req, new - old);
	*balance = new;
out_unlock_shared:
	up_read(&bank_atomic_rwsem);
	return ret;
	/* end exercise */
}

/*
 * Apply @req to account 0 under the lock of the mode in force: 0 with the
 * new balance in *@balance, or an error with nothing changed (-EAGAIN: a
 * withdrawal short of funds, which wait.c may wait out).
 */
int bank_update(const struct bank_req *req, s64 *balance)
{
	struct bank_ledger *a = &bank_ledgers[0];
	unsigned long flags;
	int ret;

	trace_bank_update_begin(req->change.net, bank_mode);
	switch (bank_mode) {
	case BANK_LOCK_SPINLOCK:
		ret = bank_spin_enter();
		if (ret)
			break;
		/*
		 * The interest payer takes this lock too, maybe from a softirq
		 * or a hardirq: it must not interrupt this CPU while it holds
		 * it (interest.c). With the spin_lock() inside, this makes
		 * spin_lock_bh() or spin_lock_irqsave(), as interest_ctx needs.
		 */
		flags = bank_payer_block();
		ret = bank_update_spinlock(a, req, balance);
		bank_payer_unblock(flags);
		bank_spin_leave();
		break;
	case BANK_LOCK_MUTEX:
		ret = bank_update_mutex(a, req, balance);
		break;
	case BANK_LOCK_ATOMIC:
		ret = bank_update_atomic(a, req, balance);
		break;
	default:
		ret = bank_update_none(a, req, balance);
		break;
	}

	trace_bank_update_end(ret);
	if (!ret && req->change.deposits)
		bank_funds_deposited();
	return ret;
}
