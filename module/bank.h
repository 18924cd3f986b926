/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kbank: a bank balance kept in the kernel, behind the misc device /dev/bank.
 * This header is the map of the module: its state, the lock that protects
 * each piece, the order in which locks nest, and which file holds what.
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
 * The files, one lesson each (the lab's tasks in brackets):
 *   update.c    the four update modes on account 0, side by side [1, 2, 3]
 *   wait.c      a withdrawal short of funds waits for a deposit [4]
 *   mode.c      which mode is in force, and when it may change [5]
 *   accounts.c  the accounts, transfers and their lock order [6]
 *   stats.c     the statistics; reset and snapshot under the mode's lock
 *   interest.c  interest paid by a timer, in softirq, hardirq or a workqueue:
 *               why spinlocks exist, and which primitive each context needs
 *   statement.c a statement read while transfers run: parameter
 *               "statement", the readers' strategies side by side
 * and the plumbing, which no task needs:
 *   main.c      the misc device, its ioctls, read(), parameters, init/exit
 *   sysfs.c     /sys/class/misc/bank/: the balance and the counters
 *   trace.c     the trace events' definitions (bank_trace.h declares them)
 *   bank_logic.h  the arithmetic, with no lock and no state (KUnit-tested)
 *
 * Locking, in the order locks nest:
 *   kernel_param_lock (taken by the kernel around a parameter write), or
 *   misc_mtx (taken by misc_open() around bank_open(), on 6.1 at least)
 *     bank_open_lock     open/release against a change of lock mode
 *       bank_stmt_rwsem  (statement=rwsem in mode spinlock: a transfer's
 *                        writer side, outside the spinlocks)
 *         bank_spin_slots  (mode spinlock: at most two tasks at the spinlocks)
 *           bank_atomic_rwsem (mode atomic), then bank_interest_lock, or
 *           account i's mutex or spinlock, then account j's, i < j (lock_order
 *           "naive" breaks this rule on purpose: the deadlock lesson)
 *             a transfer's writer side of the statement (statement.c):
 *             bank_stmt_rwlock, bank_stmt_rwsem (mode mutex),
 *             bank_stmt_seqlock's lock or bank_copy_lock
 * A statement's reader side is taken alone, with no other bank lock.
 * The interest payer (interest.c) takes one account's lock at a time, or
 * bank_interest_lock alone, from the context that interest_ctx names; it
 * runs only with statement=locks or none, whose writer side is the account
 * locks themselves (interest.c's bank_interest_check() says why).
 * Process context holds those spinlocks with the payer kept off its CPU
 * (bank_payer_block(): what makes spin_lock() spin_lock_bh() against a
 * softirq payer, spin_lock_irqsave() against a hardirq one), or the payer
 * could interrupt the holder and spin on its lock for ever.
 * bank_wq's own lock (wake_up, wait_event) is never taken under an account's
 * lock or bank_atomic_rwsem (only bank_init()'s reset wakes it, empty,
 * under bank_open_lock), and no user memory is touched under a bank lock:
 * copies are made before the locks and after them. bank_spin_slots is a
 * semaphore, which lockdep does not track: its place before the spinlocks
 * is kept by hand, in the four callers of bank_spin_enter(). A task
 * waiting there is not counted in "contended" and traces no
 * bank_lock_wait: those are the spinlock's own.
 *
 * Every wait is bounded or ends on a signal: a spinlock holder busy-waits
 * at most BANK_SPIN_DELAY_MAX_US, and only on account 0, and at most one
 * task spins at a time; the mutex and the wait for funds give up on any
 * signal, the rwsem and the spinlock queue on a fatal one (kill -9), with
 * nothing changed; an update's compare-and-swap retries at most
 * BANK_CAS_TRIES times before it excludes the others, and so does a
 * transfer's once its money is in flight.
 */
#ifndef _BANK_H
#define _BANK_H

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/semaphore.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>
#include <linux/types.h>

#include "bank_logic.h"

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

/* Where the interest payer runs: the values of interest_ctx (interest.c). */
enum bank_ctx {
	BANK_CTX_SOFTIRQ,	/* an hrtimer in soft mode: timer softirq */
	BANK_CTX_HARDIRQ,	/* an hrtimer in hard mode: the timer interrupt */
	BANK_CTX_WORKQUEUE,	/* the timer queues a work item: a kworker task */
	BANK_CTX_COUNT
};

/* interest_lock: how process context holds a lock that the payer takes. */
enum bank_guard {
	BANK_GUARD_SAFE,	/* the payer kept off the CPU: the right primitive */
	BANK_GUARD_PLAIN,	/* spin_lock() alone: the wrong one, for lockdep */
};

/* Credited to every account at each tick: 1, so that it never overflows past S64_MAX. */
#define BANK_INTEREST		1
/* interest_ms: 0 (no interest) to this. */
#define BANK_INTEREST_MS_MAX	10000

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
 * statement=seqlock: lockless passes a statement reads before it takes the
 * seqlock's lock for one more, which no transfer can disturb.
 */
#define BANK_SEQ_TRIES		8

/*
 * The most accounts there can be. A statement holds every account's lock
 * at once, and lockdep tracks at most MAX_LOCK_DEPTH (48) held locks per
 * task: 40, on every kernel, so that a debug kernel and a production one
 * accept the same parameters. The ABI's struct has room for more.
 */
#define BANK_ACCOUNTS_LIMIT	40
static_assert(BANK_ACCOUNTS_LIMIT <= BANK_ACCOUNTS_MAX);

/* The order in which a transfer takes its two accounts' locks. */
enum bank_order {
	BANK_ORDER_ORDERED,	/* lower account first: no deadlock */
	BANK_ORDER_NAIVE,	/* from, then to: ABBA deadlock possible */
};

/**
 * struct bank_ledger - the kernel's side of one account: its balance and
 * the locks that guard it (the ABI's struct bank_account is a reply about
 * one account, from BANK_IOC_GET_ACCOUNT)
 * @spinlock: protects @balance in mode spinlock
 * @mutex:    protects @balance in mode mutex
 * @balance:  the balance in modes none, spinlock and mutex. Protected by
 *            @spinlock or @mutex, whichever the mode names, and in mode
 *            none by nothing. Written with WRITE_ONCE() under the lock
 *            because bank_peek() reads it without the lock.
 * @abalance: the balance in mode atomic: an atomic64_t needs no lock
 * @name:     the name lockdep prints for @mutex, "bank_account1"
 * @spin_name: and for @spinlock, "bank_account1_spin"
 *
 * Lockdep reasons about lock classes, not lock instances. If every account's
 * mutex had the same class, a transfer holding two of them would look like
 * one lock taken twice, and the order between account 1 and account 2, the
 * ABBA deadlock this module teaches, would be invisible. So
 * bank_ledgers_init() gives each account's locks classes of their own.
 */
struct bank_ledger {
	spinlock_t spinlock;	/* protects balance in mode spinlock */
	struct mutex mutex;	/* protects balance in mode mutex */
	s64 balance;

	/*
	 * No lock for a compare-and-swap, made with bank_atomic_rwsem held
	 * shared; a plain atomic64_set() only with it held exclusively, or
	 * at load and by a change of mode (bank_open_lock, nothing open).
	 */
	atomic64_t abalance;

	/* Set once, at load. */
	char name[24];
	char spin_name[24];
};

/**
 * struct bank_counters - what happened to account 0 since the last reset
 * @expected:    the balance that the successful operations add up to
 * @deposits:    money deposited
 * @withdrawals: money withdrawn
 * @contended:   updates that found the lock taken (mode atomic: that lost
 *               a compare-and-swap)
 * @waits:       withdrawals that slept for funds
 *
 * Atomics, so that they stay exact in every mode, mode none included:
 * "expected" differs from the real balance exactly when updates were lost.
 */
struct bank_counters {
	atomic64_t expected;
	atomic64_t deposits;
	atomic64_t withdrawals;
	atomic64_t contended;
	atomic64_t waits;
};

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

/*
 * The shared state, under the lock that protects it.
 *
 * bank_open_lock (mode.c) protects:
 *   bank_open_count      open descriptors of /dev/bank
 *   the writes of bank_mode and bank_order, made only while
 *                        bank_open_count is 0. Every ioctl runs between an
 *                        open() and a release(), so it reads values that
 *                        cannot change under it, with no lock. From sysfs
 *                        (no descriptor open) they are read with
 *                        READ_ONCE(), bank_mode by bank_peek() with
 *                        smp_load_acquire().
 */
extern struct mutex bank_open_lock;
extern int bank_mode;			/* mode.c: BANK_LOCK_*, the mode in force */
extern int bank_order;			/* mode.c: enum bank_order in force */

/*
 * Each account's spinlock or mutex (whichever bank_mode names) protects
 * that account's balance; see struct bank_ledger. Mode atomic has no lock
 * per account. The first bank_naccounts are in use; account 0 is "the
 * balance" of the deposit, withdraw, set and stats ioctls.
 */
extern struct bank_ledger bank_ledgers[BANK_ACCOUNTS_LIMIT];	/* accounts.c */
extern unsigned int bank_naccounts;	/* main.c: "accounts", set at load only */

/*
 * bank_atomic_rwsem (update.c), mode atomic: one word needs no lock, but two
 * words that must change together do. An update changes an abalance and
 * then its accounting in bank_counts; a reset or a snapshot must not fall
 * in between, or "expected" would disagree with the balance although
 * nothing was lost. So updates and transfers hold it shared (they never
 * wait for each other: the compare-and-swap keeps them apart) and a reset
 * or a snapshot holds it exclusively. An update that keeps losing its
 * compare-and-swap also takes it exclusively, once, to be sure to finish.
 */
extern struct rw_semaphore bank_atomic_rwsem;

/*
 * bank_others (accounts.c): the money in accounts 1 and up, as transfers
 * leave it, the yardstick of a statement (statement.c). An atomic, changed
 * in the same writer section as the balances (in mode atomic, step by
 * step, like the balances), read under a statement's reader side.
 *
 * bank_statement (statement.c): the strategy in force, BANK_STATEMENT_*;
 * written like bank_mode, under bank_open_lock while nothing is open. Its
 * readers' locks and the RCU copy are statement.c's, static: each protects
 * the balances and bank_others against a statement, while the account
 * locks protect them against other writers.
 */
extern atomic64_t bank_others;
extern int bank_statement;
extern const char * const bank_statement_names[];

/* A transfer's writer side of the statement's strategy (statement.c). */
struct bank_copy;
struct bank_stmt_writer {
	struct bank_copy *copy;	/* rcu: to publish, allocated before the locks */
	struct bank_copy *old;	/* rcu: the copy replaced, freed after them */
	bool outer;		/* rwsem held around the account locks */
};

/*
 * bank_counts (stats.c): atomics, each exact on its own; reset under
 * account 0's lock of the mode in force (in mode atomic, bank_atomic_rwsem
 * held exclusively), and read under it by a snapshot (BANK_IOC_GET_STATS).
 * A statement (BANK_IOC_GET_ACCOUNTS) reads them under every account's
 * lock (mode atomic: none), sysfs with no lock: each value alone.
 */
extern struct bank_counters bank_counts;

/*
 * interest.c, written like bank_mode (under bank_open_lock, nothing open)
 * and only with the payer stopped: bank_interest_ctx (BANK_CTX_*),
 * bank_interest_guard (enum bank_guard). The payer and every ioctl read
 * them with no lock.
 *
 * bank_interest_lock (interest.c), mode atomic: the payer holds it for a
 * whole payment, a reset or a snapshot inside bank_atomic_rwsem held
 * exclusively, a statement=locks statement alone; so none sees a payment
 * half made (a balance paid, its "expected" or bank_others not yet). The
 * payer cannot take the rwsem: a timer may not sleep.
 */
extern int bank_interest_ctx;
extern int bank_interest_guard;
extern spinlock_t bank_interest_lock;

/*
 * bank_spin_slots (update.c), mode spinlock: who may be at a bank spinlock.
 * Not a lock on data: it bounds how long a spinner spins (see update.c).
 *
 * bank_wq (wait.c, static): the withdrawers waiting for funds, with its
 * own lock, taken by wait_event and wake_up only.
 *
 * No lock, read with READ_ONCE() at runtime (main.c): the parameters
 * delay_us (bank_delay_us) and initial_balance.
 */
extern unsigned int bank_delay_us;

/* update.c: the four update modes on account 0 */
unsigned int bank_delay_in_force(void);
int bank_req_init(struct bank_req *req, const s64 *amounts, u32 count);
void bank_delay(unsigned int us, bool may_sleep);
int bank_spin_enter(void);
void bank_spin_leave(void);
void bank_spin_slots_init(void);
int bank_update(const struct bank_req *req, s64 *balance);

/* wait.c: the wait for funds */
int bank_update_or_wait(const struct bank_req *req, s64 need, bool nonblock,
			s64 *balance);
void bank_funds_deposited(void);
void bank_funds_reset(void);
void bank_funds_moved(void);

/* mode.c: the mode in force, and when it may change */
s64 bank_peek(struct bank_ledger *a);
bool bank_is_open(void);
int bank_open(struct inode *inode, struct file *file);
int bank_release(struct inode *inode, struct file *file);
void bank_note_delay_cap(int mode, unsigned int us);

/* mode.c */
bool bank_device_open(void);

/* accounts.c: the accounts, transfers and their lock order */
void bank_ledgers_init(void);
void bank_ledgers_set_class(int ctx);
int bank_transfer(struct bank_transfer *t);
int bank_accounts_snapshot(struct bank_accounts *all, s64 *others);

/* stats.c: the statistics, reset and snapshot */
void bank_count_success(const struct bank_req *req, s64 delta);
int bank_reset(s64 balance);
int bank_snapshot(struct bank_stats *st);

/* interest.c: interest paid by a timer */
unsigned long bank_payer_block(void);
void bank_payer_unblock(unsigned long flags);
int bank_interest_allows(int mode);
bool bank_interest_on(void);
void bank_interest_stop(void);
void bank_interest_start(void);
int bank_interest_init(void);
void bank_interest_exit(void);
/* statement.c: a statement read while transfers run */
const char *bank_statement_refusal(int statement, int mode);
int bank_statement_read(struct bank_accounts *all);
void bank_statement_account0_changed(void);
int bank_statement_write_begin(struct bank_stmt_writer *w);
void bank_statement_write_lock(struct bank_stmt_writer *w)
	__acquires(bank_stmt_writer);
void bank_statement_write_unlock(struct bank_stmt_writer *w, bool changed)
	__releases(bank_stmt_writer);
void bank_statement_write_end(struct bank_stmt_writer *w);
void bank_statement_counts(struct bank_readers *r);
int bank_statement_init(void);
void bank_statement_exit(void);

/* main.c: /dev/bank */
int bank_show(struct seq_file *m, void *v);

/* sysfs.c: /sys/class/misc/bank/ */
extern const struct attribute_group *bank_groups[];

#endif /* _BANK_H */
