// SPDX-License-Identifier: GPL-2.0
/*
 * kbank: a bank balance kept in the kernel, behind the misc device /dev/bank.
 *
 * Processes deposit into and withdraw from one balance through ioctls (see
 * include/uapi/linux/bank.h). The module parameter "lock" chooses what keeps
 * two processes from losing each other's updates:
 *
 *   none      nothing: read, wait delay_us, write back. A real race, kept on
 *             purpose: it is the bug the other modes fix.
 *   spinlock  spinlock_t: a waiter spins on its CPU until the lock is free.
 *   mutex     struct mutex: a waiter sleeps and lets its CPU do other work.
 *   atomic    atomic64_t: no lock on the balance, a compare-and-swap that
 *             retries when another CPU changed the balance in between.
 *
 * There are several accounts (parameter "accounts"); account 0 is the
 * balance that deposit, withdraw and the statistics act on, and transfers
 * move money between any two, taking both accounts' locks.
 *
 * Locking, in the order locks nest:
 *   kernel_param_lock (taken by the kernel around a parameter write)
 *     bank_open_lock     open/release against a change of lock mode
 *       bank_spin_slots  (mode spinlock: at most two tasks at the spinlocks)
 *         bank_atomic_rwsem (mode atomic), or
 *         account i's mutex or spinlock, then account j's, i < j (lock_order
 *         "naive" breaks this rule on purpose: the deadlock lesson)
 * bank_wq's own lock (wake_up, wait_event) is never taken under a bank lock,
 * and no user memory is touched under one: copies are made before the
 * locks and after them. bank_spin_slots is a semaphore, which lockdep does
 * not track: its place before the spinlocks is kept by hand, in the four
 * callers of bank_spin_enter(). A task waiting there is not counted in
 * "contended" and traces no bank_lock_wait: those are the spinlock's own.
 *
 * Every wait is bounded or ends on a signal: a spinlock holder busy-waits
 * at most BANK_SPIN_DELAY_MAX_US, and only on account 0, and at most one
 * task spins at a time; the mutex and the wait for funds give up on any
 * signal, the rwsem and the spinlock queue on a fatal one (kill -9), with
 * nothing changed; an update's compare-and-swap retries at most
 * BANK_CAS_TRIES times before it excludes the others, and so does a
 * transfer's once its money is in flight.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/nospec.h>
#include <linux/rwsem.h>
#include <linux/semaphore.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "bank_logic.h"

/* The events of trace system "bank": defined here, declared in the header. */
#define CREATE_TRACE_POINTS
#include "bank_trace.h"

/*
 * The balance is read without a lock (bank_peek()), which a 32-bit CPU
 * cannot do in one access for an s64, and initial_balance is a long.
 */
#if BITS_PER_LONG != 64
#error "kbank needs a 64-bit kernel"
#endif

/*
 * The one thing that differs between the kernels kbank builds on: newer
 * ones (here Debian's 7.x) have kzalloc_obj(), which takes the size from
 * what the pointer points to, and their checkpatch asks for it. Older
 * ones (5.10 to 6.12) get it from this line, with the same two arguments.
 */
#ifndef kzalloc_obj
#define kzalloc_obj(obj, gfp)	kzalloc(sizeof(obj), gfp)
#endif

/* delay_us: a sleeping delay (mutex, atomic, none) may be this long... */
#define BANK_DELAY_MAX_US	10000
/*
 * ...but a spinlock holder busy-waits with preemption off, and a waiter
 * spins on every other CPU meanwhile: 1 ms, the longest that the kernel's
 * own docs (timers-howto) still call a busy-wait, bounds what any process
 * that can open /dev/bank can keep a CPU from scheduling.
 */
#define BANK_SPIN_DELAY_MAX_US	1000
/*
 * Mode atomic: compare-and-swap tries before an update stops the others
 * (see bank_update_atomic()). Each try is a few instructions, so a caller
 * can only lose this many times to a flood of other updates, never forever.
 */
#define BANK_CAS_TRIES		16

/*
 * The most accounts there can be. A statement holds every account's lock
 * at once, and lockdep tracks at most MAX_LOCK_DEPTH (48) held locks per
 * task: 40, on every kernel, so that a debug kernel and a production one
 * accept the same parameters. The ABI's struct has room for more.
 */
#define BANK_ACCOUNTS_LIMIT	40
static_assert(BANK_ACCOUNTS_LIMIT <= BANK_ACCOUNTS_MAX);

/*
 * The lock mode in force, BANK_LOCK_*. Written only by bank_mode_set(),
 * under bank_open_lock and only while no descriptor is open: every ioctl
 * runs between an open() and a release(), so it reads a value that cannot
 * change under it and needs no lock to read it. bank_peek() may also run
 * from sysfs, with no descriptor open: it reads the mode with READ_ONCE().
 */
static int bank_mode = BANK_LOCK_MUTEX;

/* Serializes open() and release() against changes of bank_mode. */
static DEFINE_MUTEX(bank_open_lock);

/* Open descriptors of /dev/bank. Protected by bank_open_lock. */
static unsigned int bank_open_count;

/* The order in which a transfer takes its two accounts' locks. */
enum bank_order {
	BANK_ORDER_ORDERED,	/* lower account first: no deadlock */
	BANK_ORDER_NAIVE,	/* from, then to: ABBA deadlock possible */
};

static const char * const bank_order_names[] = {
	[BANK_ORDER_ORDERED]	= "ordered",
	[BANK_ORDER_NAIVE]	= "naive",
};

/* The lock order in force; written and read like bank_mode. */
static int bank_order = BANK_ORDER_ORDERED;

/**
 * struct bank_acct - one account: its balance and the locks that guard it
 * @balance:  the balance in modes none, spinlock and mutex. Protected by
 *            @spinlock or @mutex, whichever the mode names, and in mode
 *            none by nothing. Written with WRITE_ONCE() under the lock
 *            because bank_peek() reads it without the lock.
 * @abalance: the balance in mode atomic: an atomic64_t needs no lock
 * @spinlock: protects @balance in mode spinlock
 * @mutex:    protects @balance in mode mutex
 * @name:     the name lockdep prints for @mutex, "bank_account1"
 * @spin_name: and for @spinlock, "bank_account1_spin"
 *
 * Lockdep reasons about lock classes, not lock instances. If every account's
 * mutex had the same class, a transfer holding two of them would look like
 * one lock taken twice, and the order between account 1 and account 2, the
 * ABBA deadlock this module teaches, would be invisible. So bank_init()
 * gives each account's locks classes of their own (bank_lock_keys).
 */
struct bank_acct {
	s64 balance;
	atomic64_t abalance;
	spinlock_t spinlock;	/* protects balance in mode spinlock */
	struct mutex mutex;	/* protects balance in mode mutex */
	char name[24];
	char spin_name[24];
};

/*
 * Every account there can be; the first bank_naccounts are in use. Account
 * 0 is "the balance" of the deposit, withdraw, set and stats ioctls.
 */
static struct bank_acct bank_accts[BANK_ACCOUNTS_LIMIT];

/* Lockdep's lock classes: one per account and kind of lock. */
static struct lock_class_key bank_lock_keys[BANK_ACCOUNTS_LIMIT][2];

/* The module parameter "accounts": how many are in use. Set at load only. */
static unsigned int bank_naccounts = 4;

/* Account 0: what the ioctls of the first version act on. */
#define bank0	(&bank_accts[0])

/*
 * Mode atomic: one word needs no lock, but two words that must change
 * together do. An update changes an abalance and then its accounting in
 * bank_stats; a reset or a snapshot must not fall in between, or "expected"
 * would disagree with the balance although nothing was lost. So updates
 * hold this rwsem shared (they never wait for each other: the
 * compare-and-swap keeps them apart) and a reset or a snapshot holds it
 * exclusively. An update that keeps losing its compare-and-swap also takes
 * it exclusively, once, to be sure to finish.
 */
static DECLARE_RWSEM(bank_atomic_rwsem);

/*
 * What happened since the last reset. Atomics, so that they stay exact in
 * every mode, mode none included: "expected" is the balance that the
 * successful operations add up to, and differs from the real balance
 * exactly when updates were lost. Reset under the mode's lock (in mode
 * atomic, bank_atomic_rwsem held exclusively).
 */
static struct {
	atomic64_t expected;
	atomic64_t deposits;
	atomic64_t withdrawals;
	atomic64_t contended;
	atomic64_t waits;
} bank_stats;

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

/* Withdrawers waiting for funds; woken by deposits and by a reset. */
static DECLARE_WAIT_QUEUE_HEAD(bank_wq);

/* Module parameters other than "lock", read with READ_ONCE() at runtime. */
static long initial_balance = 200;
static unsigned int delay_us;

/**
 * struct bank_req - one request, as a batch of signed amounts
 * @change:   the entries and their summary (bank_logic.h)
 * @delay_us: time to spend between reading and writing the balance
 *
 * A deposit of n is the batch { n }, a withdrawal of n the batch { -n }:
 * every update goes through the same critical section.
 */
struct bank_req {
	struct bank_change change;
	unsigned int delay_us;
};

/* delay_us as the mode in force may use it: see BANK_SPIN_DELAY_MAX_US. */
static unsigned int bank_delay_in_force(void)
{
	unsigned int us = READ_ONCE(delay_us);

	if (bank_mode == BANK_LOCK_SPINLOCK)
		return min(us, BANK_SPIN_DELAY_MAX_US);
	return us;
}

static int bank_req_init(struct bank_req *req, const s64 *amounts, u32 count)
{
	req->delay_us = bank_delay_in_force();
	return bank_change_init(&req->change, amounts, count);
}

/*
 * The window between read and write back: it is what makes a race visible.
 * Only a spinlock holder must not sleep; it busy-waits, in milliseconds
 * (mdelay) and then microseconds, as udelay() is meant for short waits.
 */
static void bank_delay(unsigned int us, bool may_sleep)
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

/* Record a successful request in the statistics. */
static void bank_account(const struct bank_req *req, s64 delta)
{
	atomic64_add(delta, &bank_stats.expected);
	if (req->change.deposits)
		atomic64_add(req->change.deposits, &bank_stats.deposits);
	if (req->change.withdrawals)
		atomic64_add(req->change.withdrawals, &bank_stats.withdrawals);
}

/*
 * Mode none. RACE, ON PURPOSE: two CPUs can both read the same balance,
 * and the second write back erases the first one's update (a lost update).
 * The accesses are plain, unmarked, so that KCSAN sees the data race; this
 * is the bug that every other mode fixes. noinline and __noclone keep this
 * function's name, exactly, in KCSAN's report.
 */
static noinline __noclone int
bank_update_none(struct bank_acct *a, const struct bank_req *req, s64 *balance)
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
	bank_account(req, new - old);
	*balance = new;
	return 0;
}

/* Modes spinlock and mutex: write back @new and account for it. */
static void bank_write_back(struct bank_acct *a, const struct bank_req *req,
			    s64 old, s64 new, s64 *balance)
{
	/*
	 * Traced before the store: a task that reads this value then has a
	 * later timestamp than this event, whatever delays either CPU.
	 */
	trace_bank_write(old, new, new - old, bank_mode);
	WRITE_ONCE(a->balance, new);
	bank_account(req, new - old);
	*balance = new;
}

/*
 * Mode spinlock: the same read, delay and write back as mode none, but
 * under the lock, so that no other update can come in between. The holder
 * busy-waits: it must not sleep.
 */
static int bank_update_spinlock(struct bank_acct *a,
				const struct bank_req *req, s64 *balance)
{
	s64 old, new;
	int ret;

	/* exercise 1: no other update between this read and the write back */
	if (!spin_trylock(&a->spinlock)) {
		atomic64_inc(&bank_stats.contended);
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
static int bank_update_mutex(struct bank_acct *a, const struct bank_req *req,
			     s64 *balance)
{
	s64 old, new;
	int ret;

	/* exercise 2: the same, with a lock whose holder may sleep */
	if (!mutex_trylock(&a->mutex)) {
		atomic64_inc(&bank_stats.contended);
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
 * exclusively) for one try that cannot lose: nobody starves, however fast
 * the others go.
 */
static int bank_update_atomic(struct bank_acct *a, const struct bank_req *req,
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
			atomic64_inc(&bank_stats.contended);
	}
	up_read(&bank_atomic_rwsem);

	if (down_write_killable(&bank_atomic_rwsem))
		return -EINTR;
	old = atomic64_read(&a->abalance);
	trace_bank_read(old, req->change.net, BANK_LOCK_ATOMIC);
	ret = bank_apply(old, &req->change, &new);
	if (!ret) {
		atomic64_set(&a->abalance, new);
		trace_bank_write(old, new, new - old, BANK_LOCK_ATOMIC);
		bank_account(req, new - old);
		*balance = new;
	}
	up_write(&bank_atomic_rwsem);
	return ret;

out_account_shared:
	bank_account(req, new - old);
	*balance = new;
out_unlock_shared:
	up_read(&bank_atomic_rwsem);
	return ret;
	/* end exercise */
}

/* Mode spinlock: a place at the spinlocks (bank_spin_slots), or -EINTR. */
static int bank_spin_enter(void)
{
	return down_killable(&bank_spin_slots) ? -EINTR : 0;
}

static void bank_spin_leave(void)
{
	up(&bank_spin_slots);
}

/* Apply @req to account 0 under the lock of the mode in force. */
static int bank_update(const struct bank_req *req, s64 *balance)
{
	struct bank_acct *a = bank0;
	int ret;

	trace_bank_update_begin(req->change.net, bank_mode);
	switch (bank_mode) {
	case BANK_LOCK_SPINLOCK:
		ret = bank_spin_enter();
		if (ret)
			break;
		ret = bank_update_spinlock(a, req, balance);
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
	/* exercise 4: a deposit lets the withdrawals waiting for funds try again */
	/* Pairs with the barrier in wait_event's prepare_to_wait_event(). */
	if (!ret && req->change.deposits && wq_has_sleeper(&bank_wq))
		wake_up_interruptible_all(&bank_wq);
	/* end exercise */
	return ret;
}

/*
 * A lockless look at the balance, for the condition of wait_event(): it runs
 * in a sleeping task state, where taking a mutex is not allowed. Only a hint:
 * bank_update() decides again under the lock.
 */
static s64 bank_peek(struct bank_acct *a)
{
	/* Pairs with bank_mode_set(): the balance moved before the mode. */
	if (smp_load_acquire(&bank_mode) == BANK_LOCK_ATOMIC)
		return atomic64_read(&a->abalance);
	return READ_ONCE(a->balance);
}

/*
 * Run @fn(@arg) under account 0's lock of the mode in force, for resets and
 * snapshots: 0, or -ERESTARTSYS if a signal came first (nothing done).
 */
static int bank_call_locked(void (*fn)(void *arg), void *arg)
{
	switch (bank_mode) {
	case BANK_LOCK_SPINLOCK:
		if (bank_spin_enter())
			return -ERESTARTSYS;
		spin_lock(&bank0->spinlock);
		fn(arg);
		spin_unlock(&bank0->spinlock);
		bank_spin_leave();
		break;
	case BANK_LOCK_MUTEX:
		if (mutex_lock_interruptible(&bank0->mutex))
			return -ERESTARTSYS;
		fn(arg);
		mutex_unlock(&bank0->mutex);
		break;
	case BANK_LOCK_ATOMIC:
		if (down_write_killable(&bank_atomic_rwsem))
			return -ERESTARTSYS;
		fn(arg);
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
	s64 balance = *(s64 *)arg;

	if (bank_mode == BANK_LOCK_ATOMIC)
		atomic64_set(&bank0->abalance, balance);
	else
		WRITE_ONCE(bank0->balance, balance);
	trace_bank_reset(balance, bank_mode);
	atomic64_set(&bank_stats.expected, balance);
	atomic64_set(&bank_stats.deposits, 0);
	atomic64_set(&bank_stats.withdrawals, 0);
	atomic64_set(&bank_stats.contended, 0);
	atomic64_set(&bank_stats.waits, 0);
}

/* Set account 0 to @balance (>= 0), reset the statistics, wake withdrawers. */
static int bank_reset(s64 balance)
{
	int ret;

	ret = bank_call_locked(bank_reset_fn, &balance);
	/* exercise 4: so does a reset */
	if (!ret)
		wake_up_interruptible_all(&bank_wq);
	/* end exercise */
	return ret;
}

static void bank_snapshot_fn(void *arg)
{
	struct bank_stats *st = arg;

	st->balance = bank_peek(bank0);
	st->expected = atomic64_read(&bank_stats.expected);
	st->deposits = atomic64_read(&bank_stats.deposits);
	st->withdrawals = atomic64_read(&bank_stats.withdrawals);
	st->contended = atomic64_read(&bank_stats.contended);
	st->waits = atomic64_read(&bank_stats.waits);
	trace_bank_snapshot(st->balance, st->expected);
}

/* Fill @st with the balance and the statistics, consistent under the lock. */
static int bank_snapshot(struct bank_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->lock = bank_mode;
	st->delay_us = bank_delay_in_force();
	return bank_call_locked(bank_snapshot_fn, st);
}

/* exercise 4: a withdrawal short of funds sleeps until it may succeed; a signal ends the wait */
/*
 * Wait until the balance may cover @need: 0 (then try again), or
 * -ERESTARTSYS on a signal: EINTR, or a restart under SA_RESTART.
 */
static int bank_wait_for_funds(s64 need)
{
	int ret;

	if (bank_peek(bank0) >= need)
		return 0;
	atomic64_inc(&bank_stats.waits);
	trace_bank_funds_wait(need, bank_peek(bank0));
	ret = wait_event_interruptible(bank_wq, bank_peek(bank0) >= need);
	trace_bank_funds_woken(need, bank_peek(bank0), ret);
	return ret;
}

/* end exercise */

/*
 * Deposit or withdraw; a withdrawal sleeps for funds unless the descriptor
 * is non-blocking. The reply is written after the change, as the kernel's
 * own calls do (read(2), accept(2)): if the caller's struct is no longer
 * writable by then, the call says EFAULT, and the change stands.
 */
static long bank_ioctl_op(struct file *file, struct bank_op __user *uop,
			  bool withdraw)
{
	struct bank_req req;
	struct bank_op op;
	s64 entry;
	int ret;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (copy_from_user(&op, uop, sizeof(op)))
		return -EFAULT;
	if (op.amount <= 0)
		return -EINVAL;
	entry = withdraw ? -op.amount : op.amount;
	ret = bank_req_init(&req, &entry, 1);
	if (ret)
		return ret;

	/* exercise 4: short of funds, wait (unless O_NONBLOCK) and never overdraw */
	for (;;) {
		ret = bank_update(&req, &op.balance);
		if (ret != -EAGAIN || (file->f_flags & O_NONBLOCK))
			break;
		/* Only a withdrawal can fail with EAGAIN: wait for funds. */
		ret = bank_wait_for_funds(op.amount);
		if (ret)
			break;
	}
	/* end exercise */
	if (ret)
		return ret;
	return put_user(op.balance, &uop->balance);
}

/* A batch never sleeps for funds; the reply as in bank_ioctl_op(). */
static long bank_ioctl_batch(struct file *file,
			     struct bank_batch __user *ubatch)
{
	struct bank_batch batch;
	struct bank_req req;
	s64 *amounts;
	long ret;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (copy_from_user(&batch, ubatch, sizeof(batch)))
		return -EFAULT;
	if (batch.flags || !batch.count)
		return -EINVAL;
	if (batch.count > BANK_BATCH_MAX)
		return -E2BIG;

	/* Up to 32 KiB: vmalloc'ed when no contiguous pages are free. */
	amounts = vmemdup_user(u64_to_user_ptr(batch.amounts),
			       array_size(batch.count, sizeof(*amounts)));
	if (IS_ERR(amounts))
		return PTR_ERR(amounts);
	ret = bank_req_init(&req, amounts, batch.count);
	if (!ret)
		ret = bank_update(&req, &batch.balance);
	kvfree(amounts);
	if (ret)
		return ret;
	return put_user(batch.balance, &ubatch->balance);
}

/* The two accounts of a transfer, in the order their locks are taken. */
static void bank_lock_order(u32 from, u32 to, struct bank_acct **first,
			    struct bank_acct **second)
{
	/* exercise 6: with lock_order=ordered, no two transfers can wait for each other */
	if (bank_order == BANK_ORDER_ORDERED && to < from)
		swap(from, to);
	/* end exercise */
	*first = &bank_accts[from];
	*second = &bank_accts[to];
}

/* Account 0's "expected" follows transfers in and out of it. */
static void bank_account_transfer(const struct bank_transfer *t)
{
	if (t->from == 0)
		atomic64_sub(t->amount, &bank_stats.expected);
	else if (t->to == 0)
		atomic64_add(t->amount, &bank_stats.expected);
}

/* Both accounts' locks are held: move the money, or refuse and change nothing. */
static int bank_transfer_apply(struct bank_transfer *t)
{
	struct bank_acct *from = &bank_accts[t->from];
	struct bank_acct *to = &bank_accts[t->to];
	s64 f, tb, new_f, new_t;
	int ret;

	f = from->balance;
	tb = to->balance;
	ret = bank_transfer_result(f, tb, t->amount, &new_f, &new_t);
	if (ret)
		return ret;
	WRITE_ONCE(from->balance, new_f);
	WRITE_ONCE(to->balance, new_t);
	bank_account_transfer(t);
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
static int bank_transfer_spinlock(struct bank_transfer *t)
{
	struct bank_acct *first, *second;
	int ret;

	bank_lock_order(t->from, t->to, &first, &second);
	spin_lock(&first->spinlock);
	spin_lock(&second->spinlock);
	ret = bank_transfer_apply(t);
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
					unsigned int us)
{
	struct bank_acct *first, *second;
	int ret;

	bank_lock_order(t->from, t->to, &first, &second);
	if (mutex_lock_interruptible(&first->mutex))
		return -ERESTARTSYS;
	bank_delay(us, true);
	if (mutex_lock_interruptible(&second->mutex)) {
		ret = -ERESTARTSYS;
		goto out_unlock_first;
	}
	ret = bank_transfer_apply(t);
	mutex_unlock(&second->mutex);
out_unlock_first:
	mutex_unlock(&first->mutex);
	return ret;
}

/* Mode none: no lock at all, a race on two balances, on purpose. */
static noinline int bank_transfer_none(struct bank_transfer *t,
				       unsigned int us)
{
	struct bank_acct *from = &bank_accts[t->from];
	struct bank_acct *to = &bank_accts[t->to];
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
	bank_account_transfer(t);
	t->from_balance = new_f;
	t->to_balance = new_t;
	return 0;
}

/*
 * One compare-and-swap step of a transfer: add @amount (< 0: take) to @a,
 * with bank_atomic_rwsem held shared. At most @tries tries: -EBUSY when
 * every one lost to another update. Otherwise 0, or bank_apply()'s
 * refusal, decided on the value that was really there (see
 * bank_update_atomic()).
 */
static int bank_cas_step(struct bank_acct *a, s64 amount, s64 *balance,
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
 * bank_atomic_rwsem exclusively for one try that cannot lose, then hold it
 * shared again (downgrade_write()), as the caller expects. Bounded: the
 * wait for exclusion lasts as long as the updates and transfers already
 * inside, each bounded. Not killable: a transfer stopped here would lose
 * its money.
 */
static int bank_cas_land(struct bank_acct *a, s64 amount, s64 *balance)
{
	int ret;

	ret = bank_cas_step(a, amount, balance, BANK_CAS_TRIES);
	if (ret != -EBUSY)
		return ret;
	up_read(&bank_atomic_rwsem);
	down_write(&bank_atomic_rwsem);
	ret = bank_cas_step(a, amount, balance, 1);
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
	struct bank_acct *from = &bank_accts[t->from];
	struct bank_acct *to = &bank_accts[t->to];
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
		atomic64_sub(t->amount, &bank_stats.expected);
	bank_delay(us, true);		/* the money is in flight */
	ret = bank_cas_land(to, t->amount, &t->to_balance);
	if (!ret) {
		if (t->to == 0)
			atomic64_add(t->amount, &bank_stats.expected);
		goto out_unlock;
	}
	if (!bank_cas_land(from, t->amount, &back) && t->from == 0) {
		atomic64_add(t->amount, &bank_stats.expected);
		*undone = true;
	}
out_unlock:
	up_read(&bank_atomic_rwsem);
	return ret;
}

static long bank_ioctl_transfer(struct file *file,
				struct bank_transfer __user *ut)
{
	struct bank_transfer t;
	bool undone = false;
	unsigned int us;
	int ret;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (copy_from_user(&t, ut, sizeof(t)))
		return -EFAULT;
	if (t.from >= bank_naccounts || t.to >= bank_naccounts ||
	    t.from == t.to || t.amount <= 0)
		return -EINVAL;
	/* Indexes from user space: no speculation past the bounds check. */
	t.from = array_index_nospec(t.from, bank_naccounts);
	t.to = array_index_nospec(t.to, bank_naccounts);

	us = bank_delay_in_force();
	switch (bank_mode) {
	case BANK_LOCK_SPINLOCK:
		ret = bank_spin_enter();
		if (ret)
			break;
		ret = bank_transfer_spinlock(&t);
		bank_spin_leave();
		break;
	case BANK_LOCK_MUTEX:
		ret = bank_transfer_mutex(&t, us);
		break;
	case BANK_LOCK_ATOMIC:
		ret = bank_transfer_atomic(&t, us, &undone);
		break;
	default:
		ret = bank_transfer_none(&t, us);
		break;
	}
	/* Account 0 has its money back: a withdrawal may go through. */
	if (undone && wq_has_sleeper(&bank_wq))
		wake_up_interruptible_all(&bank_wq);
	if (ret)
		return ret;
	trace_bank_transfer(t.from, t.to, t.amount, t.from_balance,
			    t.to_balance, bank_mode);
	/* Money came into account 0: a withdrawal may go through now. */
	if (t.to == 0 && wq_has_sleeper(&bank_wq))
		wake_up_interruptible_all(&bank_wq);
	/*
	 * The reply as in bank_ioctl_op(): the two outputs only, so that a
	 * struct whose inputs are read-only still gets its answer. EFAULT now,
	 * and the move stands.
	 */
	if (put_user(t.from_balance, &ut->from_balance) ||
	    put_user(t.to_balance, &ut->to_balance))
		return -EFAULT;
	return 0;
}

/* One account's balance, read on its own: no lock that others wait for. */
static long bank_ioctl_get_account(struct bank_account __user *ua)
{
	struct bank_account acct;

	/* Only the output is written back, as everywhere: see bank_ioctl_op(). */
	if (copy_from_user(&acct, ua, sizeof(acct)))
		return -EFAULT;
	if (acct.flags || acct.id >= bank_naccounts)
		return -EINVAL;
	acct.id = array_index_nospec(acct.id, bank_naccounts);
	return put_user(bank_peek(&bank_accts[acct.id]), &ua->balance);
}

static void bank_accounts_read(struct bank_accounts *all)
{
	unsigned int i;

	for (i = 0; i < bank_naccounts; i++)
		all->balances[i] = bank_peek(&bank_accts[i]);
	all->deposits = atomic64_read(&bank_stats.deposits);
	all->withdrawals = atomic64_read(&bank_stats.withdrawals);
}

/*
 * Mode spinlock: every account's lock, in account order, the order that
 * transfers use (bank_lock_order()), so that a statement and a transfer
 * never wait for each other in a cycle. sparse counts a lock per
 * expression and cannot follow a loop: it is told once, for them all.
 */
static void bank_spin_lock_all(void)
	__acquires(bank_accts)
{
	unsigned int i;

	for (i = 0; i < bank_naccounts; i++) {
		spin_lock(&bank_accts[i].spinlock);
		__release(&bank_accts[i].spinlock);	/* sparse: see above */
	}
	__acquire(bank_accts);
}

static void bank_spin_unlock_all(void)
	__releases(bank_accts)
{
	unsigned int i = bank_naccounts;

	while (i-- > 0) {
		__acquire(&bank_accts[i].spinlock);	/* sparse: see above */
		spin_unlock(&bank_accts[i].spinlock);
	}
	__release(bank_accts);
}

/* Mode mutex: the same order; 0, or -ERESTARTSYS with no mutex held. */
static int bank_mutex_lock_all(void)
{
	unsigned int i;

	for (i = 0; i < bank_naccounts; i++) {
		if (mutex_lock_interruptible(&bank_accts[i].mutex))
			goto out_unlock_taken;
	}
	return 0;

out_unlock_taken:
	while (i-- > 0)
		mutex_unlock(&bank_accts[i].mutex);
	return -ERESTARTSYS;
}

static void bank_mutex_unlock_all(void)
{
	unsigned int i = bank_naccounts;

	while (i-- > 0)
		mutex_unlock(&bank_accts[i].mutex);
}

/*
 * Every account at one instant: with the spinlock or the mutex, all the
 * locks, then the reads, then the unlocks. Mode atomic has no lock per
 * account: the reads come one by one (see bank_transfer_atomic()).
 */
static int bank_accounts_snapshot(struct bank_accounts *all)
{
	switch (bank_mode) {
	case BANK_LOCK_SPINLOCK:
		if (bank_spin_enter())
			return -ERESTARTSYS;
		bank_spin_lock_all();
		bank_accounts_read(all);
		bank_spin_unlock_all();
		bank_spin_leave();
		break;
	case BANK_LOCK_MUTEX:
		if (bank_mutex_lock_all())
			return -ERESTARTSYS;
		bank_accounts_read(all);
		bank_mutex_unlock_all();
		break;
	default:
		bank_accounts_read(all);
		break;
	}
	return 0;
}

static long bank_ioctl_get_accounts(struct bank_accounts __user *uall)
{
	struct bank_accounts *all;
	u32 flags;
	long ret;

	if (get_user(flags, &uall->flags))
		return -EFAULT;
	if (flags)
		return -EINVAL;
	all = kzalloc_obj(*all, GFP_KERNEL);
	if (!all)
		return -ENOMEM;
	all->count = bank_naccounts;
	ret = bank_accounts_snapshot(all);
	/* The outputs: count, then everything after flags (an input). */
	if (!ret && (put_user(all->count, &uall->count) ||
		     copy_to_user(&uall->deposits, &all->deposits,
				  sizeof(*all) - offsetof(struct bank_accounts, deposits))))
		ret = -EFAULT;
	kfree(all);
	return ret;
}

/* The balance alone: a lockless look, which never stalls an update. */
static long bank_ioctl_get_balance(s64 __user *ubalance)
{
	return put_user(bank_peek(bank0), ubalance);
}

static long bank_ioctl_set_balance(struct file *file, s64 __user *ubalance)
{
	s64 balance;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (get_user(balance, ubalance))
		return -EFAULT;
	if (balance < 0)
		return -EINVAL;
	return bank_reset(balance);
}

static long bank_ioctl_get_stats(struct bank_stats __user *ustats)
{
	struct bank_stats st;
	int ret;

	ret = bank_snapshot(&st);
	if (ret)
		return ret;
	if (copy_to_user(ustats, &st, sizeof(st)))
		return -EFAULT;
	return 0;
}

static long bank_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (cmd) {
	case BANK_IOC_DEPOSIT:
		return bank_ioctl_op(file, argp, false);
	case BANK_IOC_WITHDRAW:
		return bank_ioctl_op(file, argp, true);
	case BANK_IOC_GET_BALANCE:
		return bank_ioctl_get_balance(argp);
	case BANK_IOC_SET_BALANCE:
		return bank_ioctl_set_balance(file, argp);
	case BANK_IOC_GET_STATS:
		return bank_ioctl_get_stats(argp);
	case BANK_IOC_BATCH:
		return bank_ioctl_batch(file, argp);
	case BANK_IOC_TRANSFER:
		return bank_ioctl_transfer(file, argp);
	case BANK_IOC_GET_ACCOUNT:
		return bank_ioctl_get_account(argp);
	case BANK_IOC_GET_ACCOUNTS:
		return bank_ioctl_get_accounts(argp);
	default:
		return -ENOTTY;
	}
}

/*
 * `cat /dev/bank`: the balance as one decimal line, a lockless look. A
 * seq_file makes the line once per open and serves every read() of it
 * from there, so reading it in small pieces never mixes two balances.
 */
static int bank_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%lld\n", bank_peek(bank0));
	return 0;
}

static int bank_open(struct inode *inode, struct file *file)
{
	int ret;

	/* misc_open() left the miscdevice here; seq_open() wants it empty. */
	file->private_data = NULL;
	ret = single_open(file, bank_show, NULL);
	if (ret)
		return ret;
	/* exercise 5: a change of lock mode must know that this descriptor is open */
	mutex_lock(&bank_open_lock);
	bank_open_count++;
	mutex_unlock(&bank_open_lock);
	/* end exercise */
	return nonseekable_open(inode, file);
}

static int bank_release(struct inode *inode, struct file *file)
{
	/* exercise 5: ...and that it is closed */
	mutex_lock(&bank_open_lock);
	bank_open_count--;
	mutex_unlock(&bank_open_lock);
	/* end exercise */
	return single_release(inode, file);
}

static const struct file_operations bank_fops = {
	.owner		= THIS_MODULE,
	.open		= bank_open,
	.release	= bank_release,
	.read		= seq_read,
	.unlocked_ioctl	= bank_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/* sysfs: /sys/class/misc/bank/<name>, one value per file. */
static ssize_t balance_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	/*
	 * Anyone may read this file, so it takes no lock that others wait
	 * for: a lockless look, which is the balance at some instant during
	 * the read. A change of lock mode (never while an update can run)
	 * leaves both variables holding that balance.
	 */
	return sysfs_emit(buf, "%lld\n", bank_peek(bank0));
}
static DEVICE_ATTR_RO(balance);

/* The counters: one show function, told by its attribute which to read. */
static ssize_t bank_stat_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct dev_ext_attribute *ea = container_of(attr,
						    struct dev_ext_attribute,
						    attr);

	return sysfs_emit(buf, "%lld\n", (long long)atomic64_read(ea->var));
}

static struct dev_ext_attribute bank_attr_expected = {
	.attr	= __ATTR(expected, 0444, bank_stat_show, NULL),
	.var	= &bank_stats.expected,
};

static struct dev_ext_attribute bank_attr_deposits = {
	.attr	= __ATTR(deposits, 0444, bank_stat_show, NULL),
	.var	= &bank_stats.deposits,
};

static struct dev_ext_attribute bank_attr_withdrawals = {
	.attr	= __ATTR(withdrawals, 0444, bank_stat_show, NULL),
	.var	= &bank_stats.withdrawals,
};

static struct dev_ext_attribute bank_attr_contended = {
	.attr	= __ATTR(contended, 0444, bank_stat_show, NULL),
	.var	= &bank_stats.contended,
};

static struct dev_ext_attribute bank_attr_waits = {
	.attr	= __ATTR(waits, 0444, bank_stat_show, NULL),
	.var	= &bank_stats.waits,
};

static struct attribute *bank_attrs[] = {
	&dev_attr_balance.attr,
	&bank_attr_expected.attr.attr,
	&bank_attr_deposits.attr.attr,
	&bank_attr_withdrawals.attr.attr,
	&bank_attr_contended.attr.attr,
	&bank_attr_waits.attr.attr,
	NULL
};
ATTRIBUTE_GROUPS(bank);

static struct miscdevice bank_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "bank",
	.fops	= &bank_fops,
	.groups	= bank_groups,
};

/* Say so when the spinlock will busy-wait less than delay_us asks. */
static void bank_note_delay_cap(int mode, unsigned int us)
{
	if (mode == BANK_LOCK_SPINLOCK && us > BANK_SPIN_DELAY_MAX_US)
		pr_notice("delay_us=%u: a spinlock holder busy-waits at most %u us; using %u\n",
			  us, BANK_SPIN_DELAY_MAX_US, BANK_SPIN_DELAY_MAX_US);
}

/*
 * "lock": parsed into bank_mode. A change moves the balance between the
 * plain and the atomic variable, and is refused while /dev/bank is open.
 * bank_open_lock also keeps it out of bank_init()'s reset: the parameter
 * is writable in sysfs before bank_init() runs.
 */
static int bank_mode_set(const char *val, const struct kernel_param *kp)
{
	int mode = bank_parse_lock(val);
	unsigned int i;
	int ret = 0;

	if (mode < 0) {
		pr_err("lock=%.*s: unknown lock mode; use none, spinlock, mutex or atomic\n",
		       (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}

	mutex_lock(&bank_open_lock);
	/* exercise 5: no change while /dev/bank is open (EBUSY), none racing with open() */
	if (bank_open_count) {
		ret = -EBUSY;
		goto out_unlock;
	}
	/* end exercise */
	if (mode == BANK_LOCK_SPINLOCK && bank_order == BANK_ORDER_NAIVE) {
		pr_err("lock=spinlock: refused with lock_order=naive (a spinlock deadlock hangs CPUs); set lock_order=ordered first\n");
		ret = -EINVAL;
		goto out_unlock;
	}
	for (i = 0; i < BANK_ACCOUNTS_LIMIT; i++) {
		struct bank_acct *a = &bank_accts[i];

		if (mode == BANK_LOCK_ATOMIC && bank_mode != BANK_LOCK_ATOMIC)
			atomic64_set(&a->abalance, a->balance);
		else if (mode != BANK_LOCK_ATOMIC && bank_mode == BANK_LOCK_ATOMIC)
			WRITE_ONCE(a->balance, atomic64_read(&a->abalance));
	}
	/* The balances before the mode: pairs with bank_peek()'s acquire. */
	smp_store_release(&bank_mode, mode);
	bank_note_delay_cap(mode, READ_ONCE(delay_us));
out_unlock:
	mutex_unlock(&bank_open_lock);
	return ret;
}

static int bank_mode_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", bank_lock_names[READ_ONCE(bank_mode)]);
}

static const struct kernel_param_ops bank_mode_ops = {
	.set	= bank_mode_set,
	.get	= bank_mode_get,
};

/* "lock_order": switchable like "lock", and never "naive" with the spinlock. */
static int bank_order_set(const char *val, const struct kernel_param *kp)
{
	int order = sysfs_match_string(bank_order_names, val);
	int ret = 0;

	if (order < 0) {
		pr_err("lock_order=%.*s: unknown; use ordered or naive\n",
		       (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}
	mutex_lock(&bank_open_lock);
	if (bank_open_count) {
		ret = -EBUSY;
	} else if (order == BANK_ORDER_NAIVE && bank_mode == BANK_LOCK_SPINLOCK) {
		pr_err("lock_order=naive: refused with lock=spinlock (a spinlock deadlock hangs CPUs); use the mutex\n");
		ret = -EINVAL;
	} else {
		WRITE_ONCE(bank_order, order);
	}
	mutex_unlock(&bank_open_lock);
	return ret;
}

static int bank_order_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", bank_order_names[READ_ONCE(bank_order)]);
}

static const struct kernel_param_ops bank_order_ops = {
	.set	= bank_order_set,
	.get	= bank_order_get,
};

/* "accounts": 1 to BANK_ACCOUNTS_LIMIT, at load only. */
static int bank_accounts_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, BANK_ACCOUNTS_LIMIT);
}

static const struct kernel_param_ops bank_accounts_ops = {
	.set	= bank_accounts_set,
	.get	= param_get_uint,
};

static int bank_delay_set(const char *val, const struct kernel_param *kp)
{
	int ret;

	ret = param_set_uint_minmax(val, kp, 0, BANK_DELAY_MAX_US);
	if (!ret)
		bank_note_delay_cap(READ_ONCE(bank_mode), READ_ONCE(delay_us));
	return ret;
}

static const struct kernel_param_ops bank_delay_ops = {
	.set	= bank_delay_set,
	.get	= param_get_uint,
};

module_param_cb(lock, &bank_mode_ops, NULL, 0644);
MODULE_PARM_DESC(lock, "Lock guarding the balance: none, spinlock, mutex or atomic (default: mutex)");
module_param_cb(lock_order, &bank_order_ops, NULL, 0644);
MODULE_PARM_DESC(lock_order, "Transfers lock: ordered (lower account first) or naive (may deadlock)");
module_param_cb(accounts, &bank_accounts_ops, &bank_naccounts, 0444);
MODULE_PARM_DESC(accounts, "Number of accounts, 1 to " __stringify(BANK_ACCOUNTS_LIMIT)
		 "; account 0 is the balance");
module_param(initial_balance, long, 0444);
MODULE_PARM_DESC(initial_balance, "Balance at load time, >= 0 (default: 200)");
module_param_cb(delay_us, &bank_delay_ops, &delay_us, 0644);
MODULE_PARM_DESC(delay_us, "Microseconds between reading and writing back the balance, 0 to "
		 __stringify(BANK_DELAY_MAX_US) ", at most " __stringify(BANK_SPIN_DELAY_MAX_US)
		 " used by the spinlock (default: 0)");

static int __init bank_init(void)
{
	unsigned int i;
	int ret;

	sema_init(&bank_spin_slots, 2);
	if (initial_balance < 0) {
		pr_err("initial_balance=%ld: must be >= 0\n", initial_balance);
		return -EINVAL;
	}
	for (i = 0; i < BANK_ACCOUNTS_LIMIT; i++) {
		struct bank_acct *a = &bank_accts[i];

		snprintf(a->name, sizeof(a->name), "bank_account%u", i);
		snprintf(a->spin_name, sizeof(a->spin_name), "bank_account%u_spin", i);
		spin_lock_init(&a->spinlock);
		lockdep_set_class_and_name(&a->spinlock, &bank_lock_keys[i][0],
					   a->spin_name);
		mutex_init(&a->mutex);
		lockdep_set_class_and_name(&a->mutex, &bank_lock_keys[i][1],
					   a->name);
	}

	mutex_lock(&bank_open_lock);
	for (i = 1; i < bank_naccounts; i++) {
		WRITE_ONCE(bank_accts[i].balance, initial_balance);
		atomic64_set(&bank_accts[i].abalance, initial_balance);
	}
	/* Account 0 and the statistics: cannot fail, the lock is free. */
	ret = bank_reset(initial_balance);
	mutex_unlock(&bank_open_lock);
	if (ret)
		return ret;

	/* Last: once registered, the device can be opened. */
	ret = misc_register(&bank_miscdev);
	if (ret) {
		pr_err("cannot register /dev/bank: %d\n", ret);
		return ret;
	}
	pr_info("/dev/bank ready: lock=%s accounts=%u initial_balance=%ld delay_us=%u\n",
		bank_lock_names[bank_mode], bank_naccounts, initial_balance,
		delay_us);
	return 0;
}

static void __exit bank_exit(void)
{
	/* First: no new descriptor after this; none is open (.owner). */
	misc_deregister(&bank_miscdev);
}

module_init(bank_init);
module_exit(bank_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The kbank authors");
MODULE_DESCRIPTION("A shared bank balance behind /dev/bank, to teach kernel locking");
MODULE_VERSION("1.0");
