// SPDX-License-Identifier: GPL-2.0
/*
 * Which lock mode is in force, and when it may change. The parameter
 * "lock" switches the mode at runtime (bankctl lock atomic, or a write to
 * /sys/module/bank/parameters/lock), and "lock_order" the order in which
 * transfers lock. Every ioctl reads bank_mode with no lock: that is safe
 * only because a change waits until no descriptor of /dev/bank is open,
 * and open() and release() count the descriptors under the same mutex
 * as a change. The lab's task 5 is here.
 */
#include "bank.h"

#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/string.h>

/*
 * The lock mode in force, BANK_LOCK_*. Written only by bank_mode_set(),
 * under bank_open_lock and only while no descriptor is open: every ioctl
 * runs between an open() and a release(), so it reads a value that cannot
 * change under it and needs no lock to read it. bank_peek() may also run
 * from sysfs, with no descriptor open: it reads the mode with READ_ONCE().
 */
int bank_mode = BANK_LOCK_MUTEX;

/* Serializes open() and release() against changes of bank_mode. */
DEFINE_MUTEX(bank_open_lock);

/* Open descriptors of /dev/bank. Protected by bank_open_lock. */
static unsigned int bank_open_count;

static const char * const bank_order_names[] = {
	[BANK_ORDER_ORDERED]	= "ordered",
	[BANK_ORDER_NAIVE]	= "naive",
};

/* The lock order in force; written and read like bank_mode. */
int bank_order = BANK_ORDER_ORDERED;

/*
 * A lockless look at an account's balance, for the condition of
 * wait_event(): it runs in a sleeping task state, where taking a mutex is
 * not allowed. Only a hint: bank_update() decides again under the lock.
 */
s64 bank_peek(struct bank_ledger *a)
{
	/* Pairs with bank_mode_set(): the balance moved before the mode. */
	if (smp_load_acquire(&bank_mode) == BANK_LOCK_ATOMIC)
		return atomic64_read(&a->abalance);
	return READ_ONCE(a->balance);
}

/* With bank_open_lock held: is a descriptor of /dev/bank open? */
bool bank_is_open(void)
{
	lockdep_assert_held(&bank_open_lock);
	return bank_open_count;
}

int bank_open(struct inode *inode, struct file *file)
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

int bank_release(struct inode *inode, struct file *file)
{
	/* exercise 5: ...and that it is closed */
	mutex_lock(&bank_open_lock);
	bank_open_count--;
	mutex_unlock(&bank_open_lock);
	/* end exercise */
	return single_release(inode, file);
}

/* Is /dev/bank open? For the parameters of interest.c. */
bool bank_device_open(void)
{
	lockdep_assert_held(&bank_open_lock);
	return bank_open_count;
}

/* Say so when the spinlock will busy-wait less than delay_us asks. */
void bank_note_delay_cap(int mode, unsigned int us)
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
	const char *why;
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
	why = bank_statement_refusal(bank_statement, mode);
	if (why) {
		pr_err("lock=%s: refused with statement=%s: %s; set statement=locks or none first\n",
		       bank_lock_names[mode], bank_statement_names[bank_statement],
		       why);
		ret = -EINVAL;
		goto out_unlock;
	}
	/* Not a mutex for a timer: interest.c says why. */
	ret = bank_interest_allows(mode);
	if (ret)
		goto out_unlock;
	/* No payment while the balances move, nor one in the old mode's way. */
	bank_interest_stop();
	for (i = 0; i < BANK_ACCOUNTS_LIMIT; i++) {
		struct bank_ledger *a = &bank_ledgers[i];

		if (mode == BANK_LOCK_ATOMIC && bank_mode != BANK_LOCK_ATOMIC)
			atomic64_set(&a->abalance, a->balance);
		else if (mode != BANK_LOCK_ATOMIC && bank_mode == BANK_LOCK_ATOMIC)
			WRITE_ONCE(a->balance, atomic64_read(&a->abalance));
	}
	/* The balances before the mode: pairs with bank_peek()'s acquire. */
	smp_store_release(&bank_mode, mode);
	bank_interest_start();
	bank_note_delay_cap(mode, READ_ONCE(bank_delay_us));
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

module_param_cb(lock, &bank_mode_ops, NULL, 0644);
MODULE_PARM_DESC(lock, "Lock guarding the balance: none, spinlock, mutex or atomic (default: mutex)");
module_param_cb(lock_order, &bank_order_ops, NULL, 0644);
MODULE_PARM_DESC(lock_order, "Transfers lock: ordered (lower account first) or naive (may deadlock)");
