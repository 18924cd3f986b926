/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The trace events of bank.ko, trace system "bank": what a timeline of the
 * race needs. Who is off its CPU is sched:sched_switch, and the kernel's
 * own lock:contention_begin and lock:contention_end (since 5.19) show the
 * slow paths of every spinlock, mutex and rwsem, bank's among them: record
 * those beside these, bank does not duplicate them.
 *
 *   trace-cmd record -e bank -e lock:contention_begin -e lock:contention_end \
 *                    -e sched:sched_switch
 *
 * The task, CPU and time of each event are the common fields. Every update
 * is, per task, in this order: bank_update_begin; bank_lock_wait and
 * bank_lock_acquired if its lock was taken (a signal during the mutex wait
 * leaves bank_lock_acquired out, and nothing is read or written); bank_read
 * (the balance it read); in mode atomic a bank_cas_retry for each lost
 * compare-and-swap, and after BANK_CAS_TRIES of them a second bank_read
 * under the exclusive lock; bank_write (what it wrote back) unless the
 * update is refused; and bank_update_end with the result. A withdrawal that
 * sleeps for funds adds bank_funds_wait and bank_funds_woken after its
 * refused update.
 *
 * trace.c includes this file with CREATE_TRACE_POINTS defined, which makes
 * define_trace.h include it again to turn the definitions into events;
 * the other files of the module include it plainly, for the trace_*() calls.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM bank

#if !defined(_BANK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _BANK_TRACE_H

#include <linux/tracepoint.h>
#include <linux/bank.h>

/* The lock mode as the "lock" parameter names it, in the text output. */
#define bank_trace_mode_name(mode)					\
	__print_symbolic(mode,						\
			 { BANK_LOCK_NONE,	"none" },		\
			 { BANK_LOCK_SPINLOCK,	"spinlock" },		\
			 { BANK_LOCK_MUTEX,	"mutex" },		\
			 { BANK_LOCK_ATOMIC,	"atomic" })

/* An update of @amount starts: no lock taken, no balance read yet. */
TRACE_EVENT(bank_update_begin,
	    TP_PROTO(s64 amount, int mode),
	    TP_ARGS(amount, mode),
	    TP_STRUCT__entry(__field(s64, amount)
			     __field(int, mode)),
	    TP_fast_assign(__entry->amount = amount;
			   __entry->mode = mode;),
	    TP_printk("amount=%lld lock=%s", __entry->amount,
		      bank_trace_mode_name(__entry->mode))
);

/*
 * The update found its lock taken and waits for it (spinlock: spinning on
 * its CPU; mutex: spinning while the holder runs, asleep otherwise), then
 * has it. The kernel's lock:contention_begin misses spinlock waits: in a
 * VM without paravirtual spinlocks, virt_spin_lock() spins without it, and
 * on bare metal so does a lone waiter in qspinlock's "pending" path. So
 * bank says it: with the spinlock and the mutex, there is one
 * bank_lock_wait per "contended" count.
 */
DECLARE_EVENT_CLASS(bank_lock_class,
		    TP_PROTO(int mode),
		    TP_ARGS(mode),
		    TP_STRUCT__entry(__field(int, mode)),
		    TP_fast_assign(__entry->mode = mode;),
		    TP_printk("lock=%s", bank_trace_mode_name(__entry->mode))
);

DEFINE_EVENT(bank_lock_class, bank_lock_wait,
	     TP_PROTO(int mode),
	     TP_ARGS(mode)
);

DEFINE_EVENT(bank_lock_class, bank_lock_acquired,
	     TP_PROTO(int mode),
	     TP_ARGS(mode)
);

/* The update read @balance (under its lock, if the mode has one). */
TRACE_EVENT(bank_read,
	    TP_PROTO(s64 balance, s64 amount, int mode),
	    TP_ARGS(balance, amount, mode),
	    TP_STRUCT__entry(__field(s64, balance)
			     __field(s64, amount)
			     __field(int, mode)),
	    TP_fast_assign(__entry->balance = balance;
			   __entry->amount = amount;
			   __entry->mode = mode;),
	    TP_printk("balance=%lld amount=%lld lock=%s", __entry->balance,
		      __entry->amount, bank_trace_mode_name(__entry->mode))
);

/*
 * The update wrote the balance back: @old is the value its result was
 * computed from, @balance = @old + @amount the value it wrote.
 */
TRACE_EVENT(bank_write,
	    TP_PROTO(s64 old, s64 balance, s64 amount, int mode),
	    TP_ARGS(old, balance, amount, mode),
	    TP_STRUCT__entry(__field(s64, old)
			     __field(s64, balance)
			     __field(s64, amount)
			     __field(int, mode)),
	    TP_fast_assign(__entry->old = old;
			   __entry->balance = balance;
			   __entry->amount = amount;
			   __entry->mode = mode;),
	    TP_printk("old=%lld balance=%lld amount=%lld lock=%s",
		      __entry->old, __entry->balance, __entry->amount,
		      bank_trace_mode_name(__entry->mode))
);

/*
 * Mode atomic: the compare-and-swap expected @expected and found @found
 * (another CPU wrote in between); try @try + 1 computes again from @found.
 */
TRACE_EVENT(bank_cas_retry,
	    TP_PROTO(s64 expected, s64 found, unsigned int try),
	    TP_ARGS(expected, found, try),
	    TP_STRUCT__entry(__field(s64, expected)
			     __field(s64, found)
			     __field(unsigned int, try)),
	    TP_fast_assign(__entry->expected = expected;
			   __entry->found = found;
			   __entry->try = try;),
	    TP_printk("expected=%lld found=%lld try=%u", __entry->expected,
		      __entry->found, __entry->try)
);

/* The update ended: 0, or the error it failed with (-11 EAGAIN: no funds). */
TRACE_EVENT(bank_update_end,
	    TP_PROTO(int ret),
	    TP_ARGS(ret),
	    TP_STRUCT__entry(__field(int, ret)),
	    TP_fast_assign(__entry->ret = ret;),
	    TP_printk("ret=%d", __entry->ret)
);

/* A withdrawal of @need goes to sleep for funds: the balance was @balance. */
TRACE_EVENT(bank_funds_wait,
	    TP_PROTO(s64 need, s64 balance),
	    TP_ARGS(need, balance),
	    TP_STRUCT__entry(__field(s64, need)
			     __field(s64, balance)),
	    TP_fast_assign(__entry->need = need;
			   __entry->balance = balance;),
	    TP_printk("need=%lld balance=%lld", __entry->need,
		      __entry->balance)
);

/* It woke up: @ret 0 to try again, or -512 (ERESTARTSYS) on a signal. */
TRACE_EVENT(bank_funds_woken,
	    TP_PROTO(s64 need, s64 balance, int ret),
	    TP_ARGS(need, balance, ret),
	    TP_STRUCT__entry(__field(s64, need)
			     __field(s64, balance)
			     __field(int, ret)),
	    TP_fast_assign(__entry->need = need;
			   __entry->balance = balance;
			   __entry->ret = ret;),
	    TP_printk("need=%lld balance=%lld ret=%d", __entry->need,
		      __entry->balance, __entry->ret)
);

/* The balance was set to @balance (BANK_IOC_SET_BALANCE, or at load). */
TRACE_EVENT(bank_reset,
	    TP_PROTO(s64 balance, int mode),
	    TP_ARGS(balance, mode),
	    TP_STRUCT__entry(__field(s64, balance)
			     __field(int, mode)),
	    TP_fast_assign(__entry->balance = balance;
			   __entry->mode = mode;),
	    TP_printk("balance=%lld lock=%s", __entry->balance,
		      bank_trace_mode_name(__entry->mode))
);

/*
 * The balance and "expected" were read together (BANK_IOC_GET_STATS, cat
 * /dev/bank): expected - balance is what the lost updates add up to.
 */
TRACE_EVENT(bank_snapshot,
	    TP_PROTO(s64 balance, s64 expected),
	    TP_ARGS(balance, expected),
	    TP_STRUCT__entry(__field(s64, balance)
			     __field(s64, expected)),
	    TP_fast_assign(__entry->balance = balance;
			   __entry->expected = expected;),
	    TP_printk("balance=%lld expected=%lld", __entry->balance,
		      __entry->expected)
);

/*
 * A transfer moved @amount from account @from to account @to, leaving them
 * at @from_balance and @to_balance. Not part of the update sequence above:
 * a transfer into or out of account 0 changes its balance without a
 * bank_read and bank_write.
 */
TRACE_EVENT(bank_transfer,
	    TP_PROTO(u32 from, u32 to, s64 amount, s64 from_balance,
		     s64 to_balance, int mode),
	    TP_ARGS(from, to, amount, from_balance, to_balance, mode),
	    TP_STRUCT__entry(__field(u32, from)
			     __field(u32, to)
			     __field(s64, amount)
			     __field(s64, from_balance)
			     __field(s64, to_balance)
			     __field(int, mode)),
	    TP_fast_assign(__entry->from = from;
			   __entry->to = to;
			   __entry->amount = amount;
			   __entry->from_balance = from_balance;
			   __entry->to_balance = to_balance;
			   __entry->mode = mode;),
	    TP_printk("from=%u to=%u amount=%lld from_balance=%lld to_balance=%lld lock=%s",
		      __entry->from, __entry->to, __entry->amount,
		      __entry->from_balance, __entry->to_balance,
		      bank_trace_mode_name(__entry->mode))
);

/* Where interest was paid from: enum bank_ctx, as interest_ctx names it. */
#define bank_trace_ctx_name(ctx)					\
	__print_symbolic(ctx,						\
			 { 0,	"softirq" },				\
			 { 1,	"hardirq" },				\
			 { 2,	"workqueue" })

/*
 * The interest payer (interest.c) paid @amount into each of @accounts
 * accounts, leaving account 0 at @balance. @ctx: the context the payment
 * ran in, as the kernel saw it (in a hard interrupt, serving a softirq,
 * or a task: the workqueue's). Not part of the update sequence above:
 * like a transfer, it changes account 0 without a bank_read and
 * bank_write, and it counts in "expected" and "deposits".
 */
TRACE_EVENT(bank_interest,
	    TP_PROTO(u32 accounts, s64 amount, s64 balance, int ctx, int mode),
	    TP_ARGS(accounts, amount, balance, ctx, mode),
	    TP_STRUCT__entry(__field(u32, accounts)
			     __field(s64, amount)
			     __field(s64, balance)
			     __field(int, ctx)
			     __field(int, mode)),
	    TP_fast_assign(__entry->accounts = accounts;
			   __entry->amount = amount;
			   __entry->balance = balance;
			   __entry->ctx = ctx;
			   __entry->mode = mode;),
	    TP_printk("accounts=%u amount=%lld balance=%lld ctx=%s lock=%s",
		      __entry->accounts, __entry->amount, __entry->balance,
		      bank_trace_ctx_name(__entry->ctx),
		      bank_trace_mode_name(__entry->mode))
);

/* The statement's strategy as the "statement" parameter names it. */
#define bank_trace_statement_name(statement)				\
	__print_symbolic(statement,					\
			 { BANK_STATEMENT_LOCKS,	"locks" },	\
			 { BANK_STATEMENT_NONE,		"none" },	\
			 { BANK_STATEMENT_RWLOCK,	"rwlock" },	\
			 { BANK_STATEMENT_RWSEM,	"rwsem" },	\
			 { BANK_STATEMENT_SEQLOCK,	"seqlock" },	\
			 { BANK_STATEMENT_RCU,		"rcu" })

/*
 * A statement (BANK_IOC_GET_ACCOUNTS) starts, read by @statement. Per
 * task, it is followed by a bank_statement_retry for each seqlock pass
 * read again, and by bank_statement_end.
 */
TRACE_EVENT(bank_statement_begin,
	    TP_PROTO(int statement),
	    TP_ARGS(statement),
	    TP_STRUCT__entry(__field(int, statement)),
	    TP_fast_assign(__entry->statement = statement;),
	    TP_printk("statement=%s", bank_trace_statement_name(__entry->statement))
);

/* statement=seqlock: a transfer ran during the pass; pass @retry + 1 starts. */
TRACE_EVENT(bank_statement_retry,
	    TP_PROTO(unsigned int retry),
	    TP_ARGS(retry),
	    TP_STRUCT__entry(__field(unsigned int, retry)),
	    TP_fast_assign(__entry->retry = retry;),
	    TP_printk("retry=%u", __entry->retry)
);

/*
 * The statement ended: @ret 0 or the error of the wait for a lock; its
 * accounts add up to @total, and accounts 1 and up are @off away from the
 * money that transfers left there (not 0: torn), after @retries retries.
 */
TRACE_EVENT(bank_statement_end,
	    TP_PROTO(int statement, int ret, s64 total, s64 off,
		     unsigned int retries),
	    TP_ARGS(statement, ret, total, off, retries),
	    TP_STRUCT__entry(__field(int, statement)
			     __field(int, ret)
			     __field(s64, total)
			     __field(s64, off)
			     __field(unsigned int, retries)),
	    TP_fast_assign(__entry->statement = statement;
			   __entry->ret = ret;
			   __entry->total = total;
			   __entry->off = off;
			   __entry->retries = retries;),
	    TP_printk("statement=%s ret=%d total=%lld off=%lld retries=%u%s",
		      bank_trace_statement_name(__entry->statement),
		      __entry->ret, __entry->total, __entry->off,
		      __entry->retries, __entry->off ? " TORN" : "")
);

#endif /* _BANK_TRACE_H */

/* Out of tree: Kbuild puts module/ on the include path for this. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE bank_trace
#include <trace/define_trace.h>
