/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kbank: a shared balance in the kernel, behind /dev/bank, for teaching
 * kernel synchronization.
 *
 * Every ioctl takes a pointer to the argument named in its definition.
 * Deposit, withdraw, set, batch and transfer need a descriptor opened for writing
 * (else EBADF); the getters work on any descriptor. A call that fails
 * changes no balance, with two exceptions said where they apply: EFAULT on
 * the reply, below, and a transfer in mode atomic. The counters contended
 * and waits count attempts, failed ones included. Unknown commands fail
 * with ENOTTY.
 *
 * Signals: a call that waits (for funds, or for the lock in mode mutex) ends
 * on a signal with nothing changed: EINTR, or restarted under SA_RESTART.
 *
 * EFAULT: the argument could not be read, and nothing changed; or, for the
 * calls that change a balance, the reply could not be written back, and
 * the change was made and stands. The reply is written after the change,
 * as the kernel's own calls do (read(2), accept(2)): a struct that is
 * read-only, or unmapped by another thread while the call waits, gets
 * EFAULT after the change. BANK_IOC_GET_STATS and BANK_IOC_GET_ACCOUNTS
 * tell what the balances are. Only the output fields are written back.
 *
 * ENOMEM: BANK_IOC_BATCH and BANK_IOC_GET_ACCOUNTS allocate kernel memory,
 * and so does BANK_IOC_TRANSFER with statement=rcu; when that fails,
 * nothing changed.
 *
 * ioctl type 0xB8, numbers 0x00-0x0F: not listed in the kernel's
 * Documentation/userspace-api/ioctl/ioctl-number.rst (checked against 6.1).
 */
#ifndef _UAPI_LINUX_BANK_H
#define _UAPI_LINUX_BANK_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Lock modes: the value of the module parameter "lock", and bank_stats.lock. */
#define BANK_LOCK_NONE		0	/* no lock at all: a real race */
#define BANK_LOCK_SPINLOCK	1	/* spinlock_t, waiters spin */
#define BANK_LOCK_MUTEX		2	/* struct mutex, waiters sleep */
#define BANK_LOCK_ATOMIC	3	/* atomic64_t and compare-and-swap */

/**
 * struct bank_op - one deposit or one withdrawal
 * @amount:  in: how much to move, > 0 (else EINVAL)
 * @balance: out: the balance right after this operation
 */
struct bank_op {
	__s64 amount;
	__s64 balance;
};

/**
 * struct bank_stats - the balance and what happened to it since the last reset
 * @balance:     the balance now
 * @expected:    the balance implied by every successful operation since the
 *               last reset, counted with atomics: equal to @balance when
 *               every operation since the reset ran under a real lock (a
 *               change of lock mode keeps a difference that mode none
 *               made), and the proof of lost updates when not
 * @deposits:    successful deposits
 * @withdrawals: successful withdrawals
 * @contended:   operations that found the lock taken, or retried a
 *               compare-and-swap
 * @waits:       times a withdrawal went to sleep for funds (a call restarted
 *               after a signal, under SA_RESTART, counts again)
 * @lock:        the lock mode in force, BANK_LOCK_*
 * @delay_us:    the delay in force: the module parameter delay_us, at most
 *               1000 in mode spinlock (a spinlock holder busy-waits)
 */
struct bank_stats {
	__s64 balance;
	__s64 expected;
	__u64 deposits;
	__u64 withdrawals;
	__u64 contended;
	__u64 waits;
	__u32 lock;
	__u32 delay_us;
};

/* Largest count accepted by BANK_IOC_BATCH; more fails with E2BIG. */
#define BANK_BATCH_MAX		4096

/**
 * struct bank_batch - several operations applied under one lock acquisition
 * @amounts: in: user address of an array of @count __s64; a positive entry
 *           is a deposit, a negative one a withdrawal, zero is EINVAL
 * @count:   in: number of entries, 1 to BANK_BATCH_MAX
 * @flags:   in: must be 0
 * @balance: out: the balance after the whole batch
 *
 * All or nothing: the entries are applied in order, and if one would
 * overflow (EOVERFLOW) or overdraw (EAGAIN: a batch never sleeps), none is.
 */
struct bank_batch {
	__u64 amounts;
	__u32 count;
	__u32 flags;
	__s64 balance;
};

#define BANK_IOC_MAGIC		0xB8

#define BANK_IOC_DEPOSIT	_IOWR(BANK_IOC_MAGIC, 0x00, struct bank_op)
#define BANK_IOC_WITHDRAW	_IOWR(BANK_IOC_MAGIC, 0x01, struct bank_op)
#define BANK_IOC_GET_BALANCE	_IOR(BANK_IOC_MAGIC, 0x02, __s64)
#define BANK_IOC_SET_BALANCE	_IOW(BANK_IOC_MAGIC, 0x03, __s64)
#define BANK_IOC_GET_STATS	_IOR(BANK_IOC_MAGIC, 0x04, struct bank_stats)
#define BANK_IOC_BATCH		_IOWR(BANK_IOC_MAGIC, 0x05, struct bank_batch)

/* Accounts, transfers and deadlock: appended, the ABI above unchanged. */

/*
 * Room for this many accounts in struct bank_accounts. The module
 * parameter "accounts" takes at most 40 (a statement holds every
 * account's lock, and lockdep tracks at most 48 held locks per task).
 */
#define BANK_ACCOUNTS_MAX	64

/**
 * struct bank_transfer - move money from one account to another
 * @from:         in: the account to take from, 0 to accounts - 1
 * @to:           in: the account to pay into, another one
 * @amount:       in: how much, > 0
 * @from_balance: out: @from's balance right after the transfer
 * @to_balance:   out: @to's balance right after the transfer
 *
 * EINVAL for an unknown account, @from == @to or @amount <= 0; EAGAIN if
 * @from holds less than @amount (a transfer never sleeps for funds);
 * EOVERFLOW if @to would pass S64_MAX. Account 0 is the balance of the
 * ioctls above. In mode atomic the two accounts change one after the
 * other, not together: a transfer that fails with EOVERFLOW has taken
 * @amount out of @from for a while (and, if @from too is within @amount of
 * S64_MAX, for good), and others may have seen it missing.
 */
struct bank_transfer {
	__u32 from;
	__u32 to;
	__s64 amount;
	__s64 from_balance;
	__s64 to_balance;
};

/**
 * struct bank_account - one account's balance
 * @id:      in: the account, 0 to accounts - 1 (else EINVAL)
 * @flags:   in: must be 0
 * @balance: out: its balance, read on its own, not with the others
 */
struct bank_account {
	__u32 id;
	__u32 flags;
	__s64 balance;
};

/**
 * struct bank_accounts - every account at once
 * @count:       out: the number of accounts (the module parameter)
 * @flags:       in: must be 0
 * @deposits:    out: successful deposits into account 0 since its reset
 * @withdrawals: out: successful withdrawals from account 0 since its reset
 * @balances:    out: the first @count entries: each account's balance
 *
 * With the spinlock and the mutex, one instant: every account's lock is
 * held, taken in account order. In mode atomic there is no such lock: each
 * balance is read on its own, and money moving between two accounts may be
 * missing from both. In mode none, anything goes. The module parameter
 * "statement" may choose another way to read (BANK_STATEMENT_* below):
 * then the balances are one instant (but with "none"), and a deposit or
 * withdrawal may fall between account 0's balance and its counters.
 */
struct bank_accounts {
	__u32 count;
	__u32 flags;
	__u64 deposits;
	__u64 withdrawals;
	__s64 balances[BANK_ACCOUNTS_MAX];
};

#define BANK_IOC_TRANSFER	_IOWR(BANK_IOC_MAGIC, 0x06, struct bank_transfer)
#define BANK_IOC_GET_ACCOUNT	_IOWR(BANK_IOC_MAGIC, 0x07, struct bank_account)
#define BANK_IOC_GET_ACCOUNTS	_IOWR(BANK_IOC_MAGIC, 0x08, struct bank_accounts)

/* Statements read while transfers run: appended, the ABI above unchanged. */

/*
 * How BANK_IOC_GET_ACCOUNTS reads the accounts while transfers run: the
 * module parameter "statement", and bank_readers.statement. Only locks and
 * none work with every lock mode; the others need a lock that transfers
 * hold (lock=spinlock or lock=mutex), and are refused with none and atomic.
 */
#define BANK_STATEMENT_LOCKS	0	/* every account's lock, in order */
#define BANK_STATEMENT_NONE	1	/* no lock: a statement may be torn */
#define BANK_STATEMENT_RWLOCK	2	/* rwlock_t: readers share, spinning */
#define BANK_STATEMENT_RWSEM	3	/* rw_semaphore: readers share, asleep */
#define BANK_STATEMENT_SEQLOCK	4	/* seqlock_t: readers retry */
#define BANK_STATEMENT_RCU	5	/* a copy per transfer, read under RCU */

/**
 * struct bank_readers - what the statements met since "statement" was set
 * @statements: BANK_IOC_GET_ACCOUNTS calls answered
 * @torn:       statements whose accounts 1 and up did not add up to the
 *              money that the transfers had left there: a transfer was
 *              seen half done. Possible only with strategy none, lock mode
 *              none, or money in flight in mode atomic.
 * @retries:    seqlock: read passes started again after a transfer
 * @fallbacks:  seqlock: statements that took the lock, their lockless
 *              passes spent
 * @copies:     rcu: copies of the balances published
 * @copy_waits: rcu: transfers that waited for a grace period themselves,
 *              too many old copies waiting to be freed already
 * @statement:  the strategy in force, BANK_STATEMENT_*
 * @flags:      0
 */
struct bank_readers {
	__u64 statements;
	__u64 torn;
	__u64 retries;
	__u64 fallbacks;
	__u64 copies;
	__u64 copy_waits;
	__u32 statement;
	__u32 flags;
};

#define BANK_IOC_GET_READERS	_IOR(BANK_IOC_MAGIC, 0x0C, struct bank_readers)

#endif /* _UAPI_LINUX_BANK_H */
