// SPDX-License-Identifier: GPL-2.0
/*
 * Interest, paid by the kernel on a timer: why spinlocks exist. Every
 * interest_ms milliseconds, BANK_INTEREST goes into every account, paid
 * from the context that interest_ctx names:
 *
 *   softirq    an hrtimer in soft mode: its callback runs in the timer
 *              softirq, at the end of an interrupt, on whatever CPU it
 *              interrupted, before that CPU's task runs again;
 *   hardirq    an hrtimer in hard mode: its callback runs in the timer
 *              interrupt itself, between any two instructions that run
 *              with interrupts on;
 *   workqueue  the timer (soft) only queues a work item: the payment runs
 *              in a kworker, a task like any other, which may sleep.
 *
 * Code that may not sleep (a softirq, a hardirq) cannot take a mutex or an
 * rwsem: only a spinlock. And a spinlock shared with such code needs more
 * than spin_lock() in process context: a task that holds the account's
 * lock can be interrupted, on its own CPU, by the payer, which then spins
 * on that lock; the holder never runs again to release it, and the CPU
 * spins for ever. So process context keeps the payer off its CPU while it
 * holds the lock (bank_payer_block()):
 *
 *   data shared with     process context takes the lock with
 *   another task         spin_lock() (or a mutex)
 *   a softirq            spin_lock_bh(): softirqs off on this CPU
 *   a hardirq            spin_lock_irqsave(): interrupts off on this CPU
 *
 * and the payer itself, already in its context, takes plain spin_lock().
 * Two softirqs on two CPUs need only spin_lock(): a softirq never
 * interrupts another one on the same CPU. interest_lock=plain drops the
 * guard on purpose: lockdep then proves the self-deadlock possible
 * ("inconsistent lock state"), on a kernel with lockdep only.
 *
 * Each lock mode against the payer:
 *   none      the payer reads and writes back with no lock, like the
 *             updates: they lose each other's money (bank_interest_none()).
 *   spinlock  each account's spinlock, as above.
 *   mutex     a timer cannot take a mutex: mutex with a softirq or hardirq
 *             payer is refused (bank_interest_check()); use the workqueue.
 *   atomic    a compare-and-swap needs no lock, in any context. But the
 *             mode's rwsem, which keeps a reset or a snapshot from seeing
 *             a balance changed and its "expected" not yet, cannot be
 *             taken by a timer: a reader may sleep. So the payer has a
 *             spinlock of its own for that, bank_interest_lock, which a
 *             reset and a snapshot take inside the rwsem; the processes'
 *             compare-and-swaps never wait for it.
 *
 * PREEMPT_RT: softirqs and soft hrtimers run in threads there, and
 * spinlock_t is a sleeping lock (an rt_mutex) that such threads may take:
 * the softirq and workqueue payers work unchanged. A hard hrtimer still
 * runs in the interrupt, where nothing may sleep: not spinlock_t, not
 * wake_up(). interest_ctx=hardirq is refused there: a raw_spinlock_t
 * for the accounts would not be enough (the wake_up() of a waiting
 * withdrawal would still take a sleeping lock, and would have to be
 * deferred, with irq_work), and it would keep a whole payment, up to
 * every account, with interrupts off, which RT exists to avoid.
 *
 * The timer is an hrtimer in every context: one API, whose mode (soft or
 * hard) chooses the context, on every kernel from 5.10 (hard and soft
 * modes since 4.16 and 5.4). hrtimer_cancel() waits for a running
 * callback and cancels a timer that restarts itself, and cancel_work_sync()
 * then the work it queued: bank_interest_stop() leaves nothing running.
 */
#include "bank.h"

#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "bank_trace.h"

static const char * const bank_ctx_names[] = {
	[BANK_CTX_SOFTIRQ]	= "softirq",
	[BANK_CTX_HARDIRQ]	= "hardirq",
	[BANK_CTX_WORKQUEUE]	= "workqueue",
};

static const char * const bank_guard_names[] = {
	[BANK_GUARD_SAFE]	= "safe",
	[BANK_GUARD_PLAIN]	= "plain",
};

/*
 * The parameters. Written under bank_open_lock, with nothing open and the
 * payer stopped (bank_interest_set()); read with no lock by the payer and
 * the ioctls, and with READ_ONCE() by the parameters' get.
 */
int bank_interest_ctx = BANK_CTX_WORKQUEUE;
int bank_interest_guard = BANK_GUARD_SAFE;
static unsigned int bank_interest_ms;

/* See bank.h: mode atomic, a payment against a reset or a snapshot. */
DEFINE_SPINLOCK(bank_interest_lock);
/* Its lockdep class follows the payer's context, like the accounts'. */
static struct lock_class_key bank_interest_keys[BANK_CTX_COUNT];

/*
 * Protected by bank_open_lock: set by bank_interest_init(), once the
 * parameters given at load are all known; before, a parameter is only
 * stored. bank_interest_running: the timer is started.
 */
static bool bank_interest_ready;
static bool bank_interest_running;

/* The timer, and the work it queues with interest_ctx=workqueue. */
static struct hrtimer bank_interest_timer;
static struct work_struct bank_interest_work;

/*
 * Process context, before it takes a spinlock that the payer takes too:
 * keep the payer off this CPU until bank_payer_unblock(). With the lock
 * taken in between by spin_lock(), this is exactly spin_lock_bh() against
 * a softirq payer (local_bh_disable(), then spin_lock()) and
 * spin_lock_irqsave() against a hardirq one; written apart because a
 * transfer and a statement take several locks, the guard once around
 * them all, as the kernel's own code does. (local_irq_save() then
 * spin_lock() is wrong on PREEMPT_RT, where spinlock_t sleeps; hardirq is
 * refused there.) A payer in the workqueue is a task: nothing to block.
 * Returns the interrupt flags for bank_payer_unblock().
 */
unsigned long bank_payer_block(void)
{
	unsigned long flags = 0;

	if (bank_interest_guard == BANK_GUARD_PLAIN)
		return 0;	/* the wrong primitive, on purpose */
	switch (bank_interest_ctx) {
	case BANK_CTX_SOFTIRQ:
		local_bh_disable();
		break;
	case BANK_CTX_HARDIRQ:
		local_irq_save(flags);
		break;
	}
	return flags;
}

void bank_payer_unblock(unsigned long flags)
{
	if (bank_interest_guard == BANK_GUARD_PLAIN)
		return;
	switch (bank_interest_ctx) {
	case BANK_CTX_SOFTIRQ:
		local_bh_enable();	/* runs the softirqs that waited */
		break;
	case BANK_CTX_HARDIRQ:
		local_irq_restore(flags);
		break;
	}
}

/*
 * The accounting of a payment into account @i, made with it (under the
 * account's lock, or in mode atomic under bank_interest_lock): account
 * 0's like a deposit's; the others' in bank_others, the money a statement
 * expects in accounts 1 and up (statement.c), which a statement=locks
 * statement reads under the same locks.
 */
static void bank_interest_count(unsigned int i)
{
	if (i) {
		atomic64_add(BANK_INTEREST, &bank_others);
		return;
	}
	atomic64_add(BANK_INTEREST, &bank_counts.expected);
	atomic64_add(BANK_INTEREST, &bank_counts.deposits);
}

/*
 * Account @i (@a), its lock held by the caller: the payment, and its
 * accounting. A balance at S64_MAX gets nothing. Returns the balance.
 */
static s64 bank_interest_add(struct bank_ledger *a, unsigned int i)
{
	s64 b = a->balance;

	if (b <= S64_MAX - BANK_INTEREST) {
		b += BANK_INTEREST;
		WRITE_ONCE(a->balance, b);
		bank_interest_count(i);
	}
	return b;
}

/*
 * Mode none. RACE, ON PURPOSE: a plain read and write back, with no lock,
 * as bank_update_none() does; a payment between an update's read and its
 * write back is erased, or erases it. Named and kept out of line like
 * bank_update_none(), for KCSAN's report.
 */
static noinline __noclone s64 bank_interest_none(struct bank_ledger *a)
{
	s64 b = a->balance;

	if (b <= S64_MAX - BANK_INTEREST)
		a->balance = b + BANK_INTEREST;
	return a->balance;
}

/*
 * Pay every account: one account's lock at a time, never two, so no lock
 * order to keep. Bounded: bank_naccounts is at most BANK_ACCOUNTS_LIMIT,
 * and each spinlock is held by a task for one update at most (a
 * delay_us of at most BANK_SPIN_DELAY_MAX_US), with at most two tasks at
 * the spinlocks (bank_spin_slots), queued in order. Returns account 0's
 * new balance. A balance at S64_MAX gets nothing (and its "expected"
 * nothing either), except in mode none, whose unlocked read is a guess
 * anyway. Mode atomic: bank_interest_lock held.
 */
static s64 bank_interest_pay(void)
{
	s64 balance0 = 0;
	unsigned int i;

	for (i = 0; i < bank_naccounts; i++) {
		struct bank_ledger *a = &bank_ledgers[i];
		s64 b;

		switch (bank_mode) {
		case BANK_LOCK_SPINLOCK:
			spin_lock(&a->spinlock);
			b = bank_interest_add(a, i);
			spin_unlock(&a->spinlock);
			break;
		case BANK_LOCK_MUTEX:
			/* Only from the workqueue: bank_interest_check(). */
			mutex_lock(&a->mutex);
			b = bank_interest_add(a, i);
			mutex_unlock(&a->mutex);
			break;
		case BANK_LOCK_ATOMIC:
			/*
			 * A compare-and-swap loop inside: it retries only
			 * when another CPU's update succeeded. Unless the
			 * balance is S64_MAX: BANK_INTEREST is 1.
			 */
			b = atomic64_fetch_add_unless(&a->abalance,
						      BANK_INTEREST, S64_MAX);
			if (b != S64_MAX) {
				b += BANK_INTEREST;
				bank_interest_count(i);
			}
			break;
		default:
			b = bank_interest_none(a);
			bank_interest_count(i);
			break;
		}
		if (!i)
			balance0 = b;
	}
	return balance0;
}

/* Mode atomic: a payment that a reset or a snapshot never sees half made. */
static s64 bank_interest_pay_atomic(void)
{
	s64 balance0;

	spin_lock(&bank_interest_lock);
	balance0 = bank_interest_pay();
	spin_unlock(&bank_interest_lock);
	return balance0;
}

/* The context this code runs in, as the kernel sees it. */
static int bank_ctx_now(void)
{
	if (hardirq_count())
		return BANK_CTX_HARDIRQ;
	if (in_serving_softirq())
		return BANK_CTX_SOFTIRQ;
	return BANK_CTX_WORKQUEUE;
}

/* One payment, then wake the withdrawals waiting for funds. */
static void bank_interest_run(void)
{
	s64 balance0;

	if (bank_mode == BANK_LOCK_ATOMIC)
		balance0 = bank_interest_pay_atomic();
	else
		balance0 = bank_interest_pay();

	trace_bank_interest(bank_naccounts, BANK_INTEREST, balance0,
			    bank_ctx_now(), bank_mode);
	/* After the locks: bank_wq's lock is never taken under a bank lock. */
	bank_funds_deposited();
}

static void bank_interest_work_fn(struct work_struct *work)
{
	bank_interest_run();
}

static enum hrtimer_restart bank_interest_tick(struct hrtimer *t)
{
	if (bank_interest_ctx == BANK_CTX_WORKQUEUE)
		schedule_work(&bank_interest_work);
	else
		bank_interest_run();
	hrtimer_forward_now(t, ms_to_ktime(bank_interest_ms));
	return HRTIMER_RESTART;
}

/*
 * Refuse what cannot work, with the reason: 0 or -EINVAL. @mode, @ctx,
 * @ms and @guard: the values that would be in force.
 */
static int bank_interest_check(int mode, int ctx, unsigned int ms, int guard)
{
	if (ms && mode == BANK_LOCK_MUTEX && ctx != BANK_CTX_WORKQUEUE) {
		pr_err("interest_ctx=%s: refused with lock=mutex: a timer may not sleep, and mutex_lock() may; use interest_ctx=workqueue, or another lock\n",
		       bank_ctx_names[ctx]);
		return -EINVAL;
	}
	/*
	 * The payer's writer side is the account locks alone, which is all
	 * statement=locks and none have. The others would want more of it: an
	 * rwsem (no lock for a timer), a copy allocated per change (rcu), or
	 * an rwlock_t or seqlock_t that every process-side taker would take
	 * with the payer kept off its CPU. A choice of this lesson, kept
	 * simple: interest goes with locks and none only.
	 */
	if (ms && bank_statement != BANK_STATEMENT_LOCKS &&
	    bank_statement != BANK_STATEMENT_NONE) {
		pr_err("interest_ms=%u: refused with statement=%s: the payer changes balances with the account locks alone; use statement=locks or none\n",
		       ms, bank_statement_names[bank_statement]);
		return -EINVAL;
	}
	if (IS_ENABLED(CONFIG_PREEMPT_RT) && ctx == BANK_CTX_HARDIRQ) {
		pr_err("interest_ctx=hardirq: refused on PREEMPT_RT: spinlock_t and wake_up() sleep there, and a hard interrupt may not; use softirq (a thread there)\n");
		return -EINVAL;
	}
	if (!IS_ENABLED(CONFIG_PROVE_LOCKING) && guard == BANK_GUARD_PLAIN) {
		pr_err("interest_lock=plain: refused without lockdep: the payer would interrupt a holder of its lock and spin on its own CPU for ever; boot the debug kernel\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * A change of "lock" to @mode (bank_mode_set()): 0, or -EINVAL when the
 * payer could not work with it. bank_open_lock held.
 */
int bank_interest_allows(int mode)
{
	lockdep_assert_held(&bank_open_lock);
	if (!bank_interest_ready)
		return 0;	/* at load: bank_interest_init() checks */
	return bank_interest_check(mode, bank_interest_ctx, bank_interest_ms,
				   bank_interest_guard);
}

/* Whether interest is paid (statement.c: refused with most strategies). */
bool bank_interest_on(void)
{
	lockdep_assert_held(&bank_open_lock);
	return bank_interest_ms;
}

/* Cancel the timer and wait for the payment in progress. bank_open_lock held. */
void bank_interest_stop(void)
{
	lockdep_assert_held(&bank_open_lock);
	if (!bank_interest_running)
		return;
	hrtimer_cancel(&bank_interest_timer);	/* no tick after this... */
	cancel_work_sync(&bank_interest_work);	/* ...and no work queued */
	bank_interest_running = false;
}

/* Start the timer, if interest_ms asks for it. bank_open_lock held. */
void bank_interest_start(void)
{
	enum hrtimer_mode mode = HRTIMER_MODE_REL_SOFT;

	lockdep_assert_held(&bank_open_lock);
	if (!bank_interest_ready || !bank_interest_ms || bank_interest_running)
		return;
	if (bank_interest_ctx == BANK_CTX_HARDIRQ)
		mode = HRTIMER_MODE_REL_HARD;
	/*
	 * hrtimer_setup() since 6.13, hrtimer_init() until 6.14: Kbuild
	 * looks for the first in the kernel's headers.
	 */
#ifdef BANK_HAVE_HRTIMER_SETUP
	hrtimer_setup(&bank_interest_timer, bank_interest_tick, CLOCK_MONOTONIC,
		      mode);
#else
	hrtimer_init(&bank_interest_timer, CLOCK_MONOTONIC, mode);
	bank_interest_timer.function = bank_interest_tick;
#endif
	hrtimer_start(&bank_interest_timer, ms_to_ktime(bank_interest_ms), mode);
	bank_interest_running = true;
}

/*
 * The context whose lockdep class the payer's locks take: @ctx while a
 * payer runs (@ms), the workqueue's (a task, like every other taker)
 * while none does, so that a strategy allowed only then (statement.c)
 * is not judged against a payer that cannot come.
 */
static int bank_class_ctx(int ctx, unsigned int ms)
{
	return ms ? ctx : BANK_CTX_WORKQUEUE;
}

/* The lockdep class of the payer's locks, for @ctx (see accounts.c). */
static void bank_interest_set_class(int ctx)
{
	lockdep_set_class_and_name(&bank_interest_lock, &bank_interest_keys[ctx],
				   "bank_interest_lock");
	bank_ledgers_set_class(ctx);
}

/*
 * Change the parameters to @ctx, @ms and @guard: refused while /dev/bank is
 * open (EBUSY), as a change of "lock" is, since every ioctl reads them with
 * no lock; and refused (EINVAL) when they cannot work with the lock mode.
 * Before bank_interest_init(), at load, only stored.
 */
static int bank_interest_set(int ctx, unsigned int ms, int guard)
{
	int ret = 0;

	mutex_lock(&bank_open_lock);
	if (bank_device_open()) {
		ret = -EBUSY;
		goto out_unlock;
	}
	if (bank_interest_ready) {
		ret = bank_interest_check(bank_mode, ctx, ms, guard);
		if (ret)
			goto out_unlock;
	}
	bank_interest_stop();
	if (bank_interest_ready && bank_class_ctx(ctx, ms) !=
	    bank_class_ctx(bank_interest_ctx, bank_interest_ms))
		bank_interest_set_class(bank_class_ctx(ctx, ms));
	WRITE_ONCE(bank_interest_ctx, ctx);
	WRITE_ONCE(bank_interest_ms, ms);
	WRITE_ONCE(bank_interest_guard, guard);
	bank_interest_start();
out_unlock:
	mutex_unlock(&bank_open_lock);
	return ret;
}

static int bank_interest_ms_set(const char *val, const struct kernel_param *kp)
{
	unsigned int ms;

	if (kstrtouint(val, 0, &ms) || ms > BANK_INTEREST_MS_MAX) {
		pr_err("interest_ms=%.*s: use 0 (no interest) to %u\n",
		       (int)strcspn(val, "\n"), val, BANK_INTEREST_MS_MAX);
		return -EINVAL;
	}
	return bank_interest_set(READ_ONCE(bank_interest_ctx), ms,
				 READ_ONCE(bank_interest_guard));
}

static int bank_interest_ms_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(bank_interest_ms));
}

static int bank_interest_ctx_set(const char *val, const struct kernel_param *kp)
{
	int ctx = sysfs_match_string(bank_ctx_names, val);

	if (ctx < 0) {
		pr_err("interest_ctx=%.*s: unknown; use softirq, hardirq or workqueue\n",
		       (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}
	return bank_interest_set(ctx, READ_ONCE(bank_interest_ms),
				 READ_ONCE(bank_interest_guard));
}

static int bank_interest_ctx_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", bank_ctx_names[READ_ONCE(bank_interest_ctx)]);
}

static int bank_interest_guard_set(const char *val, const struct kernel_param *kp)
{
	int guard = sysfs_match_string(bank_guard_names, val);

	if (guard < 0) {
		pr_err("interest_lock=%.*s: unknown; use safe or plain\n",
		       (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}
	return bank_interest_set(READ_ONCE(bank_interest_ctx),
				 READ_ONCE(bank_interest_ms), guard);
}

static int bank_interest_guard_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", bank_guard_names[READ_ONCE(bank_interest_guard)]);
}

/*
 * At load, once every parameter is set and the accounts are: check the
 * combination (a refusal fails the load, with its reason), then start
 * paying.
 */
int bank_interest_init(void)
{
	int ret;

	INIT_WORK(&bank_interest_work, bank_interest_work_fn);
	mutex_lock(&bank_open_lock);
	ret = bank_interest_check(bank_mode, bank_interest_ctx,
				  bank_interest_ms, bank_interest_guard);
	if (!ret) {
		bank_interest_set_class(bank_class_ctx(bank_interest_ctx,
						       bank_interest_ms));
		bank_interest_ready = true;
		bank_interest_start();
	}
	mutex_unlock(&bank_open_lock);
	return ret;
}

/* At unload, or a failed load: no timer and no work left behind. */
void bank_interest_exit(void)
{
	mutex_lock(&bank_open_lock);
	bank_interest_stop();
	bank_interest_ready = false;
	mutex_unlock(&bank_open_lock);
}

static const struct kernel_param_ops bank_interest_ms_ops = {
	.set	= bank_interest_ms_set,
	.get	= bank_interest_ms_get,
};

static const struct kernel_param_ops bank_interest_ctx_ops = {
	.set	= bank_interest_ctx_set,
	.get	= bank_interest_ctx_get,
};

static const struct kernel_param_ops bank_interest_guard_ops = {
	.set	= bank_interest_guard_set,
	.get	= bank_interest_guard_get,
};

module_param_cb(interest_ms, &bank_interest_ms_ops, NULL, 0644);
MODULE_PARM_DESC(interest_ms, "Pay " __stringify(BANK_INTEREST)
		 " into every account every this many ms, 0 (off, the default) to "
		 __stringify(BANK_INTEREST_MS_MAX));
module_param_cb(interest_ctx, &bank_interest_ctx_ops, NULL, 0644);
MODULE_PARM_DESC(interest_ctx, "Where interest is paid: softirq, hardirq or workqueue (default)");
module_param_cb(interest_lock, &bank_interest_guard_ops, NULL, 0644);
MODULE_PARM_DESC(interest_lock, "Process side against the payer: safe (default) or plain (spin_lock() alone: wrong, lockdep only)");
