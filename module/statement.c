// SPDX-License-Identifier: GPL-2.0
/*
 * The statement (BANK_IOC_GET_ACCOUNTS), read while transfers run. A bank
 * is read far more often than it is written, and the kernel has a tool for
 * each way of reading. The parameter "statement" chooses one; each has its
 * reader below, side by side, and transfers (accounts.c) take the writer
 * side of the one in force:
 *
 *   locks    every account's lock, in order (accounts.c): a statement stops
 *            every transfer, and costs more with more accounts
 *   none     no lock: a transfer seen half done makes a torn statement
 *   rwlock   rwlock_t: statements share it, a transfer takes it alone;
 *            readers and writers spin, neither may sleep
 *   rwsem    the same with a rw_semaphore, whose waiters sleep
 *   seqlock  seqlock_t: a statement never blocks a transfer; it reads, and
 *            reads again if a transfer ran meanwhile, at most
 *            BANK_SEQ_TRIES times before it takes the lock
 *   rcu      each transfer publishes a new copy of the balances; a
 *            statement reads the copy under rcu_read_lock() and never
 *            waits; the old copy is freed after a grace period
 *
 * The invariant every statement is judged by: transfers move money, they
 * never make or destroy it. Deposits and withdrawals change account 0
 * only, so the money in accounts 1 and up changes only by transfers into
 * or out of account 0, and bank_others (accounts.c) counts it, inside the
 * transfer's writer side; and by interest (interest.c), counted under the
 * account's lock, with statement=locks or none only. A statement whose
 * accounts 1 and up add up to something else saw a transfer half done: it
 * is torn, and counted.
 * Account 0 is read once, so a deposit can never tear a statement.
 */
#include "bank.h"

#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/seqlock.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "bank_trace.h"

/*
 * The strategy in force, BANK_STATEMENT_*. Written like bank_mode (mode.c):
 * under bank_open_lock, only while no descriptor is open, so that an
 * ioctl reads it with no lock.
 */
int bank_statement = BANK_STATEMENT_LOCKS;

/* Indexed by BANK_STATEMENT_*: the names "statement" accepts. */
const char * const bank_statement_names[] = {
	[BANK_STATEMENT_LOCKS]		= "locks",
	[BANK_STATEMENT_NONE]		= "none",
	[BANK_STATEMENT_RWLOCK]		= "rwlock",
	[BANK_STATEMENT_RWSEM]		= "rwsem",
	[BANK_STATEMENT_SEQLOCK]	= "seqlock",
	[BANK_STATEMENT_RCU]		= "rcu",
};

/*
 * The readers' locks, one per strategy. Each protects the balances (and
 * bank_others) against a statement: a transfer holds the writer side while
 * it writes them, a statement the reader side while it reads them. The
 * balances stay protected against other updates by each account's lock.
 */
static DEFINE_RWLOCK(bank_stmt_rwlock);		/* statement=rwlock */
static DECLARE_RWSEM(bank_stmt_rwsem);		/* statement=rwsem */
static DEFINE_SEQLOCK(bank_stmt_seqlock);	/* statement=seqlock */

/*
 * statement=rcu: a copy of every balance, as one instant left them, with
 * the money in accounts 1 and up at that instant.
 */
struct bank_copy {
	struct rcu_head rcu;
	s64 others;
	s64 balances[BANK_ACCOUNTS_LIMIT];
};

/*
 * The copy in force. Readers dereference it under rcu_read_lock(); it is
 * replaced under bank_copy_lock, which every transfer holds while it
 * writes the balances, so that a copy made under it never catches a
 * transfer half done. The copy replaced is freed after a grace period.
 */
static struct bank_copy __rcu *bank_copy;
static DEFINE_SPINLOCK(bank_copy_lock);

/*
 * Copies replaced but not yet freed: each waits for a grace period. A
 * flood of transfers could queue them faster than grace periods end, so
 * past BANK_COPIES_WAITING the writer waits for one itself
 * (synchronize_rcu()) and frees its old copy at once. Hence call_rcu(),
 * which lets the count go down when a copy is freed, not kfree_rcu().
 */
#define BANK_COPIES_WAITING	256
static atomic_t bank_copies_waiting;

/* What the statements met: atomics, each exact; reset when "statement" is set. */
static struct {
	atomic64_t statements;
	atomic64_t torn;
	atomic64_t retries;
	atomic64_t fallbacks;
	atomic64_t copies;
	atomic64_t copy_waits;
} bank_readers;

/* Why @statement cannot go with lock mode @mode, or NULL if it can. */
const char *bank_statement_refusal(int statement, int mode)
{
	if (statement == BANK_STATEMENT_LOCKS || statement == BANK_STATEMENT_NONE)
		return NULL;
	/* Mode none's race and mode atomic's money in flight are their lessons. */
	if (mode == BANK_LOCK_NONE)
		return "its transfers hold no lock, so they have no writer side to take";
	if (mode == BANK_LOCK_ATOMIC)
		return "its transfers move money in two steps, with no lock over both";
	return NULL;
}

/* Each account's balance, @from to @to - 1, as bank_peek() reads it. */
static void bank_read_balances(struct bank_accounts *all, unsigned int from,
			       unsigned int to)
{
	unsigned int i;

	for (i = from; i < to; i++)
		all->balances[i] = bank_peek(&bank_ledgers[i]);
}

/*
 * Account 0's counters, after its balance. Only statement=locks holds
 * account 0's lock, under which deposits count: with any other strategy
 * a deposit may fall between the balance and its count.
 */
static void bank_read_counters(struct bank_accounts *all)
{
	all->deposits = atomic64_read(&bank_counts.deposits);
	all->withdrawals = atomic64_read(&bank_counts.withdrawals);
}

/* Every balance, and the money in accounts 1 and up, under a reader's lock. */
static void bank_read_all(struct bank_accounts *all, s64 *others)
{
	bank_read_balances(all, 0, bank_naccounts);
	*others = atomic64_read(&bank_others);
	bank_read_counters(all);
}

/*
 * statement=none. TORN, ON PURPOSE: a transfer may come between the reads
 * of its two accounts. Plain reads, as in lock mode none, so that KCSAN
 * sees the race; delay_us between the first half of the accounts and the
 * second widens the window, as it widens an update's. Account 0 last, just
 * before bank_others: a transfer into or out of it that the other reads
 * missed then shows in accounts 1 and up (but one that lands between
 * those last two reads is counted torn although the statement was whole).
 */
static noinline __noclone void bank_statement_none(struct bank_accounts *all,
						   s64 *others,
						   unsigned int us)
{
	unsigned int half = bank_naccounts / 2, i;

	for (i = 1; i <= bank_naccounts; i++) {
		unsigned int k = i % bank_naccounts;

		if (i == half)
			bank_delay(us, true);
		if (bank_mode == BANK_LOCK_ATOMIC)
			all->balances[k] = atomic64_read(&bank_ledgers[k].abalance);
		else
			all->balances[k] = bank_ledgers[k].balance;
	}
	*others = atomic64_read(&bank_others);
	bank_read_counters(all);
}

/*
 * statement=seqlock. A reader takes no lock: it notes the sequence count,
 * reads, and reads again if a writer ran meanwhile (the count moved). A
 * stream of transfers could make it read forever, so after BANK_SEQ_TRIES
 * lockless passes it takes the seqlock's own lock, which keeps writers
 * out for one last pass: the idea of read_seqbegin_or_lock(), which gives
 * one lockless pass before the lock, here with BANK_SEQ_TRIES of them and
 * written out so that sparse can follow the lock. delay_us widens the lockless passes
 * only: the locked one must not sleep. Returns the passes read again.
 */
static unsigned int bank_statement_seqlock(struct bank_accounts *all,
					   s64 *others, unsigned int us)
{
	unsigned int half = bank_naccounts / 2, retries = 0;
	unsigned int seq;

	for (;;) {
		seq = read_seqbegin(&bank_stmt_seqlock);
		bank_read_balances(all, 0, half);
		bank_delay(us, true);
		bank_read_balances(all, half, bank_naccounts);
		*others = atomic64_read(&bank_others);
		bank_read_counters(all);
		if (!read_seqretry(&bank_stmt_seqlock, seq))
			return retries;
		retries++;
		atomic64_inc(&bank_readers.retries);
		trace_bank_statement_retry(retries);
		if (retries == BANK_SEQ_TRIES)
			break;
	}
	read_seqlock_excl(&bank_stmt_seqlock);
	bank_read_all(all, others);
	read_sequnlock_excl(&bank_stmt_seqlock);
	atomic64_inc(&bank_readers.fallbacks);
	return retries;
}

/* statement=rcu: the copy in force; never waits, never retries. */
static void bank_statement_rcu(struct bank_accounts *all, s64 *others)
{
	const struct bank_copy *c;

	rcu_read_lock();
	c = rcu_dereference(bank_copy);
	memcpy(all->balances, c->balances,
	       bank_naccounts * sizeof(all->balances[0]));
	*others = c->others;
	rcu_read_unlock();
	bank_read_counters(all);
}

/* Count the statement, torn if its accounts 1 and up are not @others. */
static void bank_statement_judge(const struct bank_accounts *all, s64 others,
				 unsigned int retries)
{
	u64 sum = 0;
	unsigned int i;
	s64 off;

	/* Wrapping sums: right modulo 2^64, whatever the balances. */
	for (i = 1; i < bank_naccounts; i++)
		sum += (u64)all->balances[i];
	off = (s64)(sum - (u64)others);
	atomic64_inc(&bank_readers.statements);
	if (off)
		atomic64_inc(&bank_readers.torn);
	trace_bank_statement_end(bank_statement, 0,
				 (s64)(sum + (u64)all->balances[0]), off,
				 retries);
}

/*
 * BANK_IOC_GET_ACCOUNTS: every account, and account 0's counters, by the
 * strategy in force; 0, or -ERESTARTSYS or -EINTR when a signal ended the
 * wait for a lock (nothing read).
 */
int bank_statement_read(struct bank_accounts *all)
{
	unsigned int us = bank_delay_in_force(), retries = 0;
	s64 others = 0;
	int ret = 0;

	trace_bank_statement_begin(bank_statement);
	switch (bank_statement) {
	case BANK_STATEMENT_NONE:
		bank_statement_none(all, &others, us);
		break;
	case BANK_STATEMENT_RWLOCK:
		read_lock(&bank_stmt_rwlock);
		bank_read_all(all, &others);
		read_unlock(&bank_stmt_rwlock);
		break;
	case BANK_STATEMENT_RWSEM:
		if (down_read_killable(&bank_stmt_rwsem)) {
			ret = -EINTR;
			break;
		}
		bank_read_all(all, &others);
		up_read(&bank_stmt_rwsem);
		break;
	case BANK_STATEMENT_SEQLOCK:
		retries = bank_statement_seqlock(all, &others, us);
		break;
	case BANK_STATEMENT_RCU:
		bank_statement_rcu(all, &others);
		break;
	default:
		ret = bank_accounts_snapshot(all, &others);
		break;
	}
	if (ret) {
		trace_bank_statement_end(bank_statement, ret, 0, 0, retries);
		return ret;
	}
	bank_statement_judge(all, others, retries);
	return 0;
}

/*
 * statement=rcu: fill @c from the balances, with bank_copy_lock held (no
 * transfer is writing them), publish it, and return the copy it replaces.
 */
static struct bank_copy *bank_copy_publish(struct bank_copy *c)
{
	unsigned int i;

	lockdep_assert_held(&bank_copy_lock);
	for (i = 0; i < bank_naccounts; i++)
		c->balances[i] = bank_peek(&bank_ledgers[i]);
	c->others = atomic64_read(&bank_others);
	atomic64_inc(&bank_readers.copies);
	return rcu_replace_pointer(bank_copy, c,
				   lockdep_is_held(&bank_copy_lock));
}

static void bank_copy_free_rcu(struct rcu_head *head)
{
	kfree(container_of(head, struct bank_copy, rcu));
	atomic_dec(&bank_copies_waiting);
}

/*
 * Free a replaced copy once no reader can still be in it: after a grace
 * period, every rcu_read_lock() section that began before the copy was
 * replaced has ended. May sleep; no lock held.
 */
static void bank_copy_retire(struct bank_copy *old)
{
	if (!old)
		return;
	if (atomic_inc_return(&bank_copies_waiting) <= BANK_COPIES_WAITING) {
		call_rcu(&old->rcu, bank_copy_free_rcu);
		return;
	}
	atomic_dec(&bank_copies_waiting);
	atomic64_inc(&bank_readers.copy_waits);
	synchronize_rcu();
	kfree(old);
}

/*
 * statement=rcu: publish a copy of the balances as they are now, or say
 * so (the copy in force then stays as it was): -ENOMEM. May sleep.
 */
static int bank_copy_refresh(void)
{
	struct bank_copy *c, *old;

	c = kzalloc_obj(*c, GFP_KERNEL);
	if (!c)
		return -ENOMEM;
	spin_lock(&bank_copy_lock);
	old = bank_copy_publish(c);
	spin_unlock(&bank_copy_lock);
	bank_copy_retire(old);
	return 0;
}

/*
 * Account 0 changed by a deposit, a withdrawal or a reset, under its own
 * lock and none of the statement's: with statement=rcu, the copy must
 * follow. A statement read meanwhile shows account 0 a moment earlier,
 * which is what RCU readers see: a recent version, whole.
 */
void bank_statement_account0_changed(void)
{
	if (bank_statement != BANK_STATEMENT_RCU)
		return;
	if (bank_copy_refresh())
		pr_warn_ratelimited("statement=rcu: no memory for a copy; statements show account 0 as the last copy left it\n");
}

/*
 * A transfer's writer side, in three steps around its account locks.
 * First, before them, what may sleep: with the rwsem in lock mode
 * spinlock, the rwsem itself (a task holding a spinlock must not sleep,
 * so it comes outside them); with RCU, the copy to publish. 0, or -EINTR
 * (a fatal signal) or -ENOMEM, with nothing held.
 */
int bank_statement_write_begin(struct bank_stmt_writer *w)
{
	w->copy = NULL;
	w->old = NULL;
	w->outer = false;
	switch (bank_statement) {
	case BANK_STATEMENT_RWSEM:
		if (bank_mode != BANK_LOCK_SPINLOCK)
			break;
		if (down_write_killable(&bank_stmt_rwsem))
			return -EINTR;
		w->outer = true;
		break;
	case BANK_STATEMENT_RCU:
		w->copy = kzalloc_obj(*w->copy, GFP_KERNEL);
		if (!w->copy)
			return -ENOMEM;
		break;
	}
	return 0;
}

/*
 * Then, with both accounts' locks held, around the writes of their
 * balances and of bank_others: the writer's lock. Nothing sleeps here in
 * lock mode spinlock; in mode mutex, only the rwsem's wait, bounded by the
 * statements inside, each a few reads. sparse is told of one lock for
 * them all, as the strategy decides which.
 */
void bank_statement_write_lock(struct bank_stmt_writer *w)
	__acquires(bank_stmt_writer)
{
	switch (bank_statement) {
	case BANK_STATEMENT_RWLOCK:
		write_lock(&bank_stmt_rwlock);
		__release(bank_stmt_rwlock);
		break;
	case BANK_STATEMENT_RWSEM:
		if (!w->outer)
			down_write(&bank_stmt_rwsem);
		break;
	case BANK_STATEMENT_SEQLOCK:
		write_seqlock(&bank_stmt_seqlock);
		__release(&bank_stmt_seqlock.lock);
		break;
	case BANK_STATEMENT_RCU:
		spin_lock(&bank_copy_lock);
		__release(bank_copy_lock);
		break;
	}
	__acquire(bank_stmt_writer);
}

/*
 * The balances are written (@changed) or the transfer was refused: with
 * RCU, publish the copy (which readers see from now on), and unlock.
 */
void bank_statement_write_unlock(struct bank_stmt_writer *w, bool changed)
	__releases(bank_stmt_writer)
{
	__release(bank_stmt_writer);
	switch (bank_statement) {
	case BANK_STATEMENT_RWLOCK:
		__acquire(bank_stmt_rwlock);
		write_unlock(&bank_stmt_rwlock);
		break;
	case BANK_STATEMENT_RWSEM:
		if (!w->outer)
			up_write(&bank_stmt_rwsem);
		break;
	case BANK_STATEMENT_SEQLOCK:
		__acquire(&bank_stmt_seqlock.lock);
		write_sequnlock(&bank_stmt_seqlock);
		break;
	case BANK_STATEMENT_RCU:
		if (changed) {
			w->old = bank_copy_publish(w->copy);
			w->copy = NULL;
		}
		__acquire(bank_copy_lock);
		spin_unlock(&bank_copy_lock);
		break;
	}
}

/*
 * Last, after the account locks: the outer rwsem, and with RCU the old
 * copy retired (or the new one freed, unused). May sleep.
 */
void bank_statement_write_end(struct bank_stmt_writer *w)
{
	if (w->outer)
		up_write(&bank_stmt_rwsem);
	kfree(w->copy);
	bank_copy_retire(w->old);
}

/* BANK_IOC_GET_READERS: the counters, each exact on its own. */
void bank_statement_counts(struct bank_readers *r)
{
	memset(r, 0, sizeof(*r));
	r->statements = atomic64_read(&bank_readers.statements);
	r->torn = atomic64_read(&bank_readers.torn);
	r->retries = atomic64_read(&bank_readers.retries);
	r->fallbacks = atomic64_read(&bank_readers.fallbacks);
	r->copies = atomic64_read(&bank_readers.copies);
	r->copy_waits = atomic64_read(&bank_readers.copy_waits);
	r->statement = bank_statement;
}

static void bank_readers_reset(void)
{
	atomic64_set(&bank_readers.statements, 0);
	atomic64_set(&bank_readers.torn, 0);
	atomic64_set(&bank_readers.retries, 0);
	atomic64_set(&bank_readers.fallbacks, 0);
	atomic64_set(&bank_readers.copies, 0);
	atomic64_set(&bank_readers.copy_waits, 0);
}

/*
 * "statement": refused while /dev/bank is open, as "lock" is, and with a
 * lock mode it cannot work with. Setting it, even to the strategy in
 * force, resets the counters; rcu starts from a fresh copy (the balances
 * may have moved under another strategy). Before bank_init() there are no
 * balances yet: it makes the first copy.
 */
static int bank_statement_set(const char *val, const struct kernel_param *kp)
{
	int statement = sysfs_match_string(bank_statement_names, val);
	const char *why;
	int ret = 0;

	if (statement < 0) {
		pr_err("statement=%.*s: unknown; use locks, none, rwlock, rwsem, seqlock or rcu\n",
		       (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}
	mutex_lock(&bank_open_lock);
	if (bank_is_open()) {
		ret = -EBUSY;
		goto out_unlock;
	}
	if (statement != BANK_STATEMENT_LOCKS && statement != BANK_STATEMENT_NONE &&
	    bank_interest_on()) {
		pr_err("statement=%s: refused with interest_ms set: the payer changes balances with the account locks alone; use statement=locks or none, or interest_ms=0\n",
		       bank_statement_names[statement]);
		ret = -EINVAL;
		goto out_unlock;
	}
	why = bank_statement_refusal(statement, bank_mode);
	if (why) {
		pr_err("statement=%s: refused with lock=%s: %s; use statement=locks or none\n",
		       bank_statement_names[statement], bank_lock_names[bank_mode],
		       why);
		ret = -EINVAL;
		goto out_unlock;
	}
	if (statement == BANK_STATEMENT_RCU && rcu_access_pointer(bank_copy)) {
		ret = bank_copy_refresh();
		if (ret)
			goto out_unlock;
	}
	WRITE_ONCE(bank_statement, statement);
	bank_readers_reset();
out_unlock:
	mutex_unlock(&bank_open_lock);
	return ret;
}

static int bank_statement_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n",
			  bank_statement_names[READ_ONCE(bank_statement)]);
}

static const struct kernel_param_ops bank_statement_ops = {
	.set	= bank_statement_set,
	.get	= bank_statement_get,
};

module_param_cb(statement, &bank_statement_ops, NULL, 0644);
MODULE_PARM_DESC(statement, "How a statement reads the accounts: locks, none, rwlock, rwsem, seqlock or rcu (default: locks)");

/* At load, the balances set, before /dev/bank exists: the first copy. */
int bank_statement_init(void)
{
	return bank_copy_refresh();
}

/*
 * At unload (or a failed load), nothing open: every copy freed, the
 * callbacks' code last. The parameter's sysfs file outlives bank_exit(),
 * so a write of "statement" may still come: with no copy, it refreshes
 * none (bank_statement_set()).
 */
void bank_statement_exit(void)
{
	struct bank_copy *copy;

	mutex_lock(&bank_open_lock);
	copy = rcu_replace_pointer(bank_copy, NULL, lockdep_is_held(&bank_open_lock));
	mutex_unlock(&bank_open_lock);
	rcu_barrier();
	kfree(copy);
}
