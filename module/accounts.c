// SPDX-License-Identifier: GPL-2.0
/*
 * The accounts, and transfers between any two of them. A transfer holds
 * two accounts' locks at once, and a statement (BANK_IOC_GET_ACCOUNTS)
 * every account's lock: two tasks that take two locks in opposite orders
 * can each wait for the other, forever (an ABBA deadlock). One order for
 * everyone, the lower account first, makes that impossible; lock_order
 * "naive" takes them in the transfer's direction instead, on purpose, for
 * the deadlock lesson (make demo-deadlock). Each mode has its transfer,
 * side by side, like the updates of update.c. The lab's task 6 is here.
 */
#include "bank.h"

#include <linux/lockdep.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>

#include "bank_trace.h"

/* Every account there can be; the first bank_naccounts are in use. */
struct bank_ledger bank_ledgers[BANK_ACCOUNTS_LIMIT];

/* The money in accounts 1 and up: see bank.h. Set at load by bank_init(). */
atomic64_t bank_others;

/*
 * Lockdep's lock classes: one per account and kind of lock, and for the
 * spinlocks, one per context of the interest payer as well. Lockdep
 * remembers, for the whole boot, every way a class was ever taken: a
 * spinlock taken by a softirq payer, then, after interest_ctx became
 * workqueue, with plain spin_lock() and softirqs on, would look like the
 * self-deadlock of interest_lock=plain although none can happen. A change
 * of interest_ctx (nothing open, no payer: no lock held) gives the
 * spinlocks the new context's class.
 */
static struct lock_class_key bank_spin_keys[BANK_CTX_COUNT][BANK_ACCOUNTS_LIMIT];
static struct lock_class_key bank_mutex_keys[BANK_ACCOUNTS_LIMIT];

/*
 * At load, before anything can take a lock: each account's locks, with a
 * lockdep class of their own (see struct bank_ledger).
 */
void bank_ledgers_init(void)
{
	unsigned int i;

	for (i = 0; i < BANK_ACCOUNTS_LIMIT; i++) {
		struct bank_ledger *a = &bank_ledgers[i];

		snprintf(a->name, sizeof(a->name), "bank_account%u", i);
		snprintf(a->spin_name, sizeof(a->spin_name), "bank_account%u_spin", i);
		spin_lock_init(&a->spinlock);
		mutex_init(&a->mutex);
		lockdep_set_class_and_name(&a->mutex, &bank_mutex_keys[i],
					   a->name);
	}
	bank_ledgers_set_class(BANK_CTX_WORKQUEUE);
}

/* The spinlocks' classes for a payer in context @ctx; no lock held. */
void bank_ledgers_set_class(int ctx)
{
	unsigned int i;

	for (i = 0; i < BANK_ACCOUNTS_LIMIT; i++)
		lockdep_set_class_and_name(&bank_ledgers[i].spinlock,
					   &bank_spin_keys[ctx][i],
					   bank_ledgers[i].spin_name);
}

/* The two accounts of a transfer, in the order their locks are taken. */
static void bank_lock_order(u32 from, u32 to, struct bank_ledger **first,
			    struct bank_ledger **second)
{
	/* exercise 6: with lock_order=ordered, no two transfers can wait for each other */
	if (bank_order == BANK_ORDER_ORDERED && to < from)
		swap(from, to);
	/* end exercise */
	*first = &bank_ledgers[from];
	*second = &bank_ledgers[to];
}

/*
 * Account 0's "expected" follows transfers in and out of it, and
 * bank_others the other way round.
 */
static void bank_count_transfer(const struct bank_transfer *t)
{
	if (t->from == 0) {
		atomic64_sub(t->amount, &bank_counts.expected);
		atomic64_add(t->amount, &bank_others);
	} else if (t->to == 0) {
		atomic64_add(t->amount, &bank_counts.expected);
		atomic64_sub(t->amount, &bank_others);
	}
}

/*
 * Both accounts' locks are held: move the money, or refuse and change
 * nothing. The writes come under the writer side of the statement's
 * strategy (statement.c), so that a statement sees both or neither.
 */
static int bank_transfer_apply(struct bank_transfer *t,
			       struct bank_stmt_writer *w)
{
	struct bank_ledger *from = &bank_ledgers[t->from];
	struct bank_ledger *to = &bank_ledgers[t->to];
	s64 f, tb, new_f, new_t;
	int ret;

	f = from->balance;
	tb = to->balance;
	ret = bank_transfer_result(f, tb, t->amount, &new_f, &new_t);
	bank_statement_write_lock(w);
	if (!ret) {
		WRITE_ONCE(from->balance, new_f);
		WRITE_ONCE(to->balance, new_t);
		bank_count_transfer(t);
	}
	bank_statement_write_unlock(w, !ret);
	if (ret)
		return ret;
	t->from_balance = new_f;
	t->to_balance = new_t;
	return 0;
}

/* Mode none: no lock at all, a race on two balances, on purpose. */
static noinline int bank_transfer_none(struct bank_transfer *t,
				       unsigned int us)
{
	struct bank_ledger *from = &bank_ledgers[t->from];
	struct bank_ledger *to = &bank_ledgers[t->to];
	s64 f, tb, new_f, new_t;
	int ret;

	f = from->balance;
	tb = to->balance;
	bank_delay(us, true);
	ret = bank_transfer_result(f, tb, t->amount, &new_f, &new_t);
	if (ret)
		return ret;
	from->balance = new_f;
	to->balance = new_t;
	bank_count_transfer(t);
	t->from_balance = new_f;
	t->to_balance = new_t;
	return 0;
}

/*
 * Mode spinlock. Lock order "naive" is refused with this mode (see
 * bank_order_set()): a real ABBA deadlock here would leave two CPUs
 * spinning with preemption off until the machine is rebooted. No delay
 * either: a snapshot takes every account's lock in turn, and a delay under
 * each would add up, with preemption off, far past BANK_SPIN_DELAY_MAX_US.
 */
static int bank_transfer_spinlock(struct bank_transfer *t,
				  struct bank_stmt_writer *w)
{
	struct bank_ledger *first, *second;
	int ret;

	bank_lock_order(t->from, t->to, &first, &second);
	spin_lock(&first->spinlock);
	spin_lock(&second->spinlock);
	ret = bank_transfer_apply(t, w);
	spin_unlock(&second->spinlock);
	spin_unlock(&first->spinlock);
	return ret;
}

/*
 * Mode mutex. The delay comes between the two locks: with lock order
 * "naive", two opposite transfers each hold one mutex and wait for the
 * other's, forever. The waits are interruptible, so that kill -9 (or any
 * signal) ends them with nothing changed, and rmmod works afterwards: an
 * uninterruptible mutex_lock() would leave the two processes in state D
 * for good. noinline: /proc/PID/stack and wchan then name this function.
 */
static noinline int bank_transfer_mutex(struct bank_transfer *t,
					unsigned int us,
					struct bank_stmt_writer *w)
{
	struct bank_ledger *first, *second;
	int ret;

	bank_lock_order(t->from, t->to, &first, &second);
	if (mutex_lock_interruptible(&first->mutex))
		return -ERESTARTSYS;
	bank_delay(us, true);
	if (mutex_lock_interruptible(&second->mutex)) {
		ret = -ERESTARTSYS;
		goto out_unlock_first;
	}
	ret = bank_transfer_apply(t, w);
	mutex_unlock(&second->mutex);
out_unlock_first:
	mutex_unlock(&first->mutex);
	return ret;
}

/*
 * One compare-and-swap step of a transfer: add @amount (< 0: take) to @a,
 * with bank_atomic_rwsem held shared. At most @tries tries: -EBUSY when
 * every one lost to another update. Otherwise 0, or bank_apply()'s
 * refusal, decided on the value that was really there (see
 * bank_update_atomic()).
 */
static int bank_cas_step(struct bank_ledger *a, s64 amount, s64 *balance,
			 unsigned int tries)
{
	struct bank_change c;
	s64 old, new;
	int ret;

	ret = bank_change_init(&c, &amount, 1);
	if (ret)
		return ret;
	old = atomic64_read(&a->abalance);
	while (tries--) {
		ret = bank_apply(old, &c, &new);
		if (ret)
			new = old;
		if (atomic64_try_cmpxchg(&a->abalance, &old, new)) {
			*balance = new;
			return ret;
		}
	}
	return -EBUSY;
}

/*
 * A step that must land: the money is in flight (the transfer's second
 * step, or the undo of its first). After BANK_CAS_TRIES lost tries, take
 * bank_atomic_rwsem exclusively for tries that only the interest payer can
 * make lose (interest.c), each tick once at most, then hold it
 * shared again (downgrade_write()), as the caller expects. Bounded: the
 * wait for exclusion lasts as long as the updates and transfers already
 * inside, each bounded. Not killable: a transfer stopped here would lose
 * its money.
 */
static int bank_cas_land(struct bank_ledger *a, s64 amount, s64 *balance)
{
	int ret;

	ret = bank_cas_step(a, amount, balance, BANK_CAS_TRIES);
	if (ret != -EBUSY)
		return ret;
	up_read(&bank_atomic_rwsem);
	down_write(&bank_atomic_rwsem);
	/* Only the interest payer can still get in between, once a tick. */
	do {
		ret = bank_cas_step(a, amount, balance, BANK_CAS_TRIES);
	} while (ret == -EBUSY);
	downgrade_write(&bank_atomic_rwsem);
	return ret;
}

/*
 * Mode atomic: two compare-and-swaps, one per account. Each balance stays
 * right, but the pair is not atomic: between the two steps (delay_us wide)
 * the money is in neither account, and BANK_IOC_GET_ACCOUNTS, which has no
 * lock to take in this mode, sees it missing. That is this mode's lesson.
 *
 * The first step may be retried for as long as other updates win, and a
 * fatal signal ends it with nothing done. Once the money is in flight,
 * the second step must land: bank_cas_land() bounds it. While it waits
 * for the rwsem exclusively, a reset may come first: it does not fence a
 * transfer in flight, whose money then lands on the reset balance.
 *
 * If the second step fails (EOVERFLOW), the first is undone by a third
 * compare-and-swap. That undo could itself overflow only if the first
 * account too were within @amount of S64_MAX: then the money stays where
 * the two words allow it and the call reports EOVERFLOW. Making a failed
 * pair of updates vanish without a trace needs a lock over both: the
 * spinlock and mutex modes.
 *
 * @undone: set when account 0 got its money back, so that the caller wakes
 * withdrawers, after the rwsem is released (bank_wq's lock is never taken
 * under a bank lock).
 */
static int bank_transfer_atomic(struct bank_transfer *t, unsigned int us,
				bool *undone)
{
	struct bank_ledger *from = &bank_ledgers[t->from];
	struct bank_ledger *to = &bank_ledgers[t->to];
	s64 back;
	int ret;

	if (down_read_killable(&bank_atomic_rwsem))
		return -EINTR;
	do {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto out_unlock;
		}
		ret = bank_cas_step(from, -t->amount, &t->from_balance,
				    BANK_CAS_TRIES);
		if (ret == -EBUSY)
			cond_resched();
	} while (ret == -EBUSY);
	if (ret)
		goto out_unlock;
	if (t->from == 0)
		atomic64_sub(t->amount, &bank_counts.expected);
	else
		atomic64_sub(t->amount, &bank_others);
	bank_delay(us, true);		/* the money is in flight */
	ret = bank_cas_land(to, t->amount, &t->to_balance);
	if (!ret) {
		if (t->to == 0)
			atomic64_add(t->amount, &bank_counts.expected);
		else
			atomic64_add(t->amount, &bank_others);
		goto out_unlock;
	}
	if (!bank_cas_land(from, t->amount, &back)) {
		if (t->from) {
			atomic64_add(t->amount, &bank_others);
		} else {
			atomic64_add(t->amount, &bank_counts.expected);
			*undone = true;
		}
	}
out_unlock:
	up_read(&bank_atomic_rwsem);
	return ret;
}

/*
 * Move @t->amount from account @t->from to @t->to (checked by the caller:
 * two different accounts in use) under the locks of the mode in force,
 * with the new balances in @t: 0, or an error with nothing moved.
 */
int bank_transfer(struct bank_transfer *t)
{
	unsigned int us = bank_delay_in_force();
	struct bank_stmt_writer w;
	bool undone = false;
	unsigned long flags;
	int ret;

	switch (bank_mode) {
	case BANK_LOCK_SPINLOCK:
		ret = bank_statement_write_begin(&w);
		if (ret)
			break;
		ret = bank_spin_enter();
		if (!ret) {
			flags = bank_payer_block();	/* see interest.c */
			ret = bank_transfer_spinlock(t, &w);
			bank_payer_unblock(flags);
			bank_spin_leave();
		}
		bank_statement_write_end(&w);
		break;
	case BANK_LOCK_MUTEX:
		ret = bank_statement_write_begin(&w);
		if (ret)
			break;
		ret = bank_transfer_mutex(t, us, &w);
		bank_statement_write_end(&w);
		break;
	case BANK_LOCK_ATOMIC:
		ret = bank_transfer_atomic(t, us, &undone);
		break;
	default:
		ret = bank_transfer_none(t, us);
		break;
	}
	/* Account 0 has its money back: a withdrawal may go through. */
	if (undone)
		bank_funds_moved();
	if (ret)
		return ret;
	trace_bank_transfer(t->from, t->to, t->amount, t->from_balance,
			    t->to_balance, bank_mode);
	/* Money came into account 0: a withdrawal may go through now. */
	if (t->to == 0)
		bank_funds_moved();
	return 0;
}

static void bank_accounts_read(struct bank_accounts *all, s64 *others)
{
	unsigned int i;

	for (i = 0; i < bank_naccounts; i++)
		all->balances[i] = bank_peek(&bank_ledgers[i]);
	*others = atomic64_read(&bank_others);
	all->deposits = atomic64_read(&bank_counts.deposits);
	all->withdrawals = atomic64_read(&bank_counts.withdrawals);
}

/*
 * Mode spinlock: every account's lock, in account order, the order that
 * transfers use (bank_lock_order()), so that a statement and a transfer
 * never wait for each other in a cycle. sparse counts a lock per
 * expression and cannot follow a loop: it is told once, for them all.
 */
static void bank_spin_lock_all(void)
	__acquires(bank_ledgers)
{
	unsigned int i;

	for (i = 0; i < bank_naccounts; i++) {
		spin_lock(&bank_ledgers[i].spinlock);
		__release(&bank_ledgers[i].spinlock);	/* sparse: see above */
	}
	__acquire(bank_ledgers);
}

static void bank_spin_unlock_all(void)
	__releases(bank_ledgers)
{
	unsigned int i = bank_naccounts;

	while (i-- > 0) {
		__acquire(&bank_ledgers[i].spinlock);	/* sparse: see above */
		spin_unlock(&bank_ledgers[i].spinlock);
	}
	__release(bank_ledgers);
}

/* Mode mutex: the same order; 0, or -ERESTARTSYS with no mutex held. */
static int bank_mutex_lock_all(void)
{
	unsigned int i;

	for (i = 0; i < bank_naccounts; i++) {
		if (mutex_lock_interruptible(&bank_ledgers[i].mutex))
			goto out_unlock_taken;
	}
	return 0;

out_unlock_taken:
	while (i-- > 0)
		mutex_unlock(&bank_ledgers[i].mutex);
	return -ERESTARTSYS;
}

static void bank_mutex_unlock_all(void)
{
	unsigned int i = bank_naccounts;

	while (i-- > 0)
		mutex_unlock(&bank_ledgers[i].mutex);
}

/*
 * statement=locks (statement.c): every account at one instant, with the
 * money in accounts 1 and up (@others): with the spinlock or the mutex,
 * all the locks, then the reads, then the unlocks. Mode atomic has no lock
 * per account: the reads come one by one (see bank_transfer_atomic()),
 * under bank_interest_lock, which keeps out an interest payment, not a
 * transfer.
 */
int bank_accounts_snapshot(struct bank_accounts *all, s64 *others)
{
	unsigned long flags;

	switch (bank_mode) {
	case BANK_LOCK_SPINLOCK:
		if (bank_spin_enter())
			return -ERESTARTSYS;
		flags = bank_payer_block();	/* see interest.c */
		bank_spin_lock_all();
		bank_accounts_read(all, others);
		bank_spin_unlock_all();
		bank_payer_unblock(flags);
		bank_spin_leave();
		break;
	case BANK_LOCK_MUTEX:
		if (bank_mutex_lock_all())
			return -ERESTARTSYS;
		bank_accounts_read(all, others);
		bank_mutex_unlock_all();
		break;
	case BANK_LOCK_ATOMIC:
		/* No interest payment half seen: the payer holds it over one. */
		flags = bank_payer_block();
		spin_lock(&bank_interest_lock);
		bank_accounts_read(all, others);
		spin_unlock(&bank_interest_lock);
		bank_payer_unblock(flags);
		break;
	default:
		bank_accounts_read(all, others);
		break;
	}
	return 0;
}
