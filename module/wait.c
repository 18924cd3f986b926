// SPDX-License-Identifier: GPL-2.0
/*
 * The wait for funds: a withdrawal that the balance cannot cover sleeps
 * until a deposit, a reset or a transfer into account 0 may have made it
 * possible, then tries again under the lock. The sleep is on a wait queue
 * and ends on any signal; the balance is looked at without a lock
 * (bank_peek()), since a task about to sleep may not take a mutex, and
 * bank_update() decides again under the lock. The lab's task 4 is here.
 */
#include "bank.h"

#include <linux/sched.h>
#include <linux/wait.h>

#include "bank_trace.h"

/*
 * Withdrawers waiting for funds; woken by deposits, by a reset and by
 * transfers into account 0. Its own lock is never taken under a bank lock.
 */
static DECLARE_WAIT_QUEUE_HEAD(bank_wq);

/* A deposit went through (bank_update()). */
void bank_funds_deposited(void)
{
	/* exercise 4: a deposit lets the withdrawals waiting for funds try again */
	/* Pairs with the barrier in wait_event's prepare_to_wait_event(). */
	if (wq_has_sleeper(&bank_wq))
		wake_up_interruptible_all(&bank_wq);
	/* end exercise */
}

/* Account 0 was set to a new balance (bank_reset()). */
void bank_funds_reset(void)
{
	/* exercise 4: so does a reset */
	wake_up_interruptible_all(&bank_wq);
	/* end exercise */
}

/*
 * Money came into account 0 by a transfer, or back to it when a transfer
 * was undone (bank_transfer()): a withdrawal may go through now.
 */
void bank_funds_moved(void)
{
	if (wq_has_sleeper(&bank_wq))
		wake_up_interruptible_all(&bank_wq);
}

/* exercise 4: a withdrawal short of funds sleeps until it may succeed; a signal ends the wait */
/*
 * Wait until the balance may cover @need: 0 (then try again), or
 * -ERESTARTSYS on a signal: EINTR, or a restart under SA_RESTART.
 * noinline: /proc/PID/wchan and stack then name this function.
 */
static noinline int bank_wait_for_funds(s64 need)
{
	struct bank_ledger *a = &bank_ledgers[0];
	int ret;

	if (bank_peek(a) >= need)
		return 0;
	atomic64_inc(&bank_counts.waits);
	trace_bank_funds_wait(need, bank_peek(a));
	ret = wait_event_interruptible(bank_wq, bank_peek(a) >= need);
	trace_bank_funds_woken(need, bank_peek(a), ret);
	return ret;
}

/* end exercise */

/*
 * A deposit or a withdrawal of @need (@req) on account 0: a withdrawal short
 * of funds sleeps until it may succeed, unless @nonblock (O_NONBLOCK), and
 * then -EAGAIN. 0 with the new balance in *@balance, or an error with
 * nothing changed.
 */
int bank_update_or_wait(const struct bank_req *req, s64 need, bool nonblock,
			s64 *balance)
{
	int ret;

	/* exercise 4: short of funds, wait (unless O_NONBLOCK) and never overdraw */
	for (;;) {
		ret = bank_update(req, balance);
		if (ret != -EAGAIN || nonblock)
			break;
		/* Only a withdrawal can fail with EAGAIN: wait for funds. */
		ret = bank_wait_for_funds(need);
		if (ret)
			break;
	}
	/* end exercise */
	return ret;
}
