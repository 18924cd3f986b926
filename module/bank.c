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
 *   atomic    atomic64_t: no lock, a compare-and-swap that retries when
 *             another CPU changed the balance in between.
 *
 * Locking, in the order locks nest:
 *   kernel_param_lock (taken by the kernel around a parameter write)
 *     bank_open_lock     open/release against a change of lock mode
 *       bank_mutex or bank_spinlock   the balance, per mode
 *         bank_wq's own lock          (inside wake_up/wait_event)
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "bank_logic.h"

#define BANK_DELAY_MAX_US	10000

/*
 * The lock mode in force, BANK_LOCK_*. Written only by bank_mode_set(),
 * under bank_open_lock and only while no descriptor is open: every ioctl
 * runs between an open() and a release(), so it reads a value that cannot
 * change under it and needs no lock to read it.
 */
static int bank_mode = BANK_LOCK_MUTEX;

/* Serializes open() and release() against changes of bank_mode. */
static DEFINE_MUTEX(bank_open_lock);

/* Open descriptors of /dev/bank. Protected by bank_open_lock. */
static unsigned int bank_open_count;

/*
 * The balance in modes none, spinlock and mutex: protected by bank_spinlock
 * or bank_mutex, whichever the mode names, and in mode none by nothing. It
 * is written with WRITE_ONCE() under the lock because bank_peek() reads it
 * without the lock.
 */
static s64 bank_balance;

/* Protects bank_balance in mode spinlock. */
static DEFINE_SPINLOCK(bank_spinlock);

/* Protects bank_balance in mode mutex. */
static DEFINE_MUTEX(bank_mutex);

/* The balance in mode atomic: an atomic64_t needs no lock. */
static atomic64_t bank_abalance = ATOMIC64_INIT(0);

/*
 * What happened since the last reset. Atomics, so that they stay exact in
 * every mode, mode none included: "expected" is the balance that the
 * successful operations add up to, and differs from the real balance
 * exactly when updates were lost. Reset under the mode's lock.
 */
static struct {
	atomic64_t expected;
	atomic64_t deposits;
	atomic64_t withdrawals;
	atomic64_t contended;
	atomic64_t waits;
} bank_stats;

/* Withdrawers waiting for funds; woken by deposits and by a reset. */
static DECLARE_WAIT_QUEUE_HEAD(bank_wq);

/* Module parameters other than "lock", read with READ_ONCE() at runtime. */
static long initial_balance = 200;
static unsigned int delay_us;

/**
 * struct bank_req - one request, as a batch of signed amounts
 * @amounts:     the entries: > 0 deposits, < 0 withdrawals, never 0
 * @count:       number of entries
 * @deposits:    number of entries > 0
 * @withdrawals: number of entries < 0
 * @delay_us:    time to spend between reading and writing the balance
 *
 * A deposit of n is the batch { n }, a withdrawal of n the batch { -n }:
 * every update goes through the same critical section.
 */
struct bank_req {
	const s64 *amounts;
	u32 count;
	u32 deposits;
	u32 withdrawals;
	unsigned int delay_us;
};

/* The window between read and write back: it is what makes a race visible. */
static void bank_delay(unsigned int us, bool may_sleep)
{
	if (!us)
		return;
	if (may_sleep)
		fsleep(us);
	else
		udelay(us);
}

/* Record a successful request in the statistics. */
static void bank_account(const struct bank_req *req, s64 delta)
{
	atomic64_add(delta, &bank_stats.expected);
	if (req->deposits)
		atomic64_add(req->deposits, &bank_stats.deposits);
	if (req->withdrawals)
		atomic64_add(req->withdrawals, &bank_stats.withdrawals);
}

/*
 * Mode none. RACE, ON PURPOSE: two CPUs can both read the same balance,
 * and the second write back erases the first one's update (a lost update).
 * The accesses are plain, unmarked, so that KCSAN sees the data race; this
 * is the bug that every other mode fixes. noinline keeps this function's
 * name in KCSAN's report.
 */
static noinline int bank_update_none(const struct bank_req *req, s64 *balance)
{
	s64 old, new;
	int ret;

	old = bank_balance;
	bank_delay(req->delay_us, false);
	ret = bank_batch_result(old, req->amounts, req->count, &new);
	if (ret)
		return ret;
	bank_balance = new;
	bank_account(req, new - old);
	*balance = new;
	return 0;
}

/*
 * Modes spinlock and mutex: the same read, delay and write back as mode
 * none, but under the lock, so that no other update can come in between.
 */
static int bank_update_locked(const struct bank_req *req, s64 *balance,
			      bool may_sleep)
{
	s64 old, new;
	int ret;

	old = bank_balance;
	bank_delay(req->delay_us, may_sleep);
	ret = bank_batch_result(old, req->amounts, req->count, &new);
	if (ret)
		return ret;
	WRITE_ONCE(bank_balance, new);
	bank_account(req, new - old);
	*balance = new;
	return 0;
}

/*
 * Mode atomic: compute the new balance from a snapshot, then install it only
 * if the balance still equals the snapshot. If another CPU got in between,
 * atomic64_try_cmpxchg() fails, refreshes the snapshot and we compute again:
 * an update is never lost, and an overdraft is refused on the value that is
 * actually replaced. A plain atomic64_add() could not refuse an overflow, so
 * deposits take the same loop.
 */
static int bank_update_atomic(const struct bank_req *req, s64 *balance)
{
	bool retried = false;
	s64 old, new;
	int ret;

	old = atomic64_read(&bank_abalance);
	for (;;) {
		bank_delay(req->delay_us, false);
		ret = bank_batch_result(old, req->amounts, req->count, &new);
		if (ret)
			return ret;
		if (atomic64_try_cmpxchg(&bank_abalance, &old, new))
			break;
		if (!retried) {
			atomic64_inc(&bank_stats.contended);
			retried = true;
		}
	}
	bank_account(req, new - old);
	*balance = new;
	return 0;
}

/* Apply @req to the balance under the lock of the mode in force. */
static int bank_update(const struct bank_req *req, s64 *balance)
{
	int ret;

	switch (bank_mode) {
	case BANK_LOCK_SPINLOCK:
		if (!spin_trylock(&bank_spinlock)) {
			atomic64_inc(&bank_stats.contended);
			spin_lock(&bank_spinlock);
		}
		ret = bank_update_locked(req, balance, false);
		spin_unlock(&bank_spinlock);
		break;
	case BANK_LOCK_MUTEX:
		if (!mutex_trylock(&bank_mutex)) {
			atomic64_inc(&bank_stats.contended);
			mutex_lock(&bank_mutex);
		}
		ret = bank_update_locked(req, balance, true);
		mutex_unlock(&bank_mutex);
		break;
	case BANK_LOCK_ATOMIC:
		ret = bank_update_atomic(req, balance);
		break;
	default:
		ret = bank_update_none(req, balance);
		break;
	}

	/* Pairs with the barrier in wait_event's prepare_to_wait_event(). */
	if (!ret && req->deposits && wq_has_sleeper(&bank_wq))
		wake_up_interruptible_all(&bank_wq);
	return ret;
}

/*
 * A lockless look at the balance, for the condition of wait_event(): it runs
 * in a sleeping task state, where taking a mutex is not allowed. Only a hint:
 * bank_update() decides again under the lock.
 */
static s64 bank_peek(void)
{
	if (bank_mode == BANK_LOCK_ATOMIC)
		return atomic64_read(&bank_abalance);
	return READ_ONCE(bank_balance);
}

/* Run @fn(@arg) under the lock of the mode in force: for resets and reads. */
static void bank_call_locked(void (*fn)(void *arg), void *arg)
{
	switch (bank_mode) {
	case BANK_LOCK_SPINLOCK:
		spin_lock(&bank_spinlock);
		fn(arg);
		spin_unlock(&bank_spinlock);
		break;
	case BANK_LOCK_MUTEX:
		mutex_lock(&bank_mutex);
		fn(arg);
		mutex_unlock(&bank_mutex);
		break;
	default:
		fn(arg);
		break;
	}
}

static void bank_reset_fn(void *arg)
{
	s64 balance = *(s64 *)arg;

	if (bank_mode == BANK_LOCK_ATOMIC)
		atomic64_set(&bank_abalance, balance);
	else
		WRITE_ONCE(bank_balance, balance);
	atomic64_set(&bank_stats.expected, balance);
	atomic64_set(&bank_stats.deposits, 0);
	atomic64_set(&bank_stats.withdrawals, 0);
	atomic64_set(&bank_stats.contended, 0);
	atomic64_set(&bank_stats.waits, 0);
}

/* Set the balance to @balance (>= 0), reset the statistics, wake withdrawers. */
static void bank_reset(s64 balance)
{
	bank_call_locked(bank_reset_fn, &balance);
	wake_up_interruptible_all(&bank_wq);
}

static void bank_snapshot_fn(void *arg)
{
	struct bank_stats *st = arg;

	st->balance = bank_peek();
	st->expected = atomic64_read(&bank_stats.expected);
	st->deposits = atomic64_read(&bank_stats.deposits);
	st->withdrawals = atomic64_read(&bank_stats.withdrawals);
	st->contended = atomic64_read(&bank_stats.contended);
	st->waits = atomic64_read(&bank_stats.waits);
}

/* Fill @st with the balance and the statistics, consistent under the lock. */
static void bank_snapshot(struct bank_stats *st)
{
	memset(st, 0, sizeof(*st));
	bank_call_locked(bank_snapshot_fn, st);
	st->lock = bank_mode;
	st->delay_us = READ_ONCE(delay_us);
}

static s64 bank_read_balance(void)
{
	struct bank_stats st;

	bank_snapshot(&st);
	return st.balance;
}

/* Withdraw, sleeping for funds unless the descriptor is non-blocking. */
static int bank_update_wait(struct file *file, const struct bank_req *req,
			    s64 need, s64 *balance)
{
	bool waited = false;
	int ret;

	for (;;) {
		ret = bank_update(req, balance);
		if (ret != -EAGAIN || (file->f_flags & O_NONBLOCK))
			return ret;
		if (!waited) {
			atomic64_inc(&bank_stats.waits);
			waited = true;
		}
		/* -ERESTARTSYS on a signal: EINTR, or a restart under SA_RESTART. */
		ret = wait_event_interruptible(bank_wq, bank_peek() >= need);
		if (ret)
			return ret;
	}
}

static long bank_ioctl_op(struct file *file, struct bank_op __user *uop,
			  bool withdraw)
{
	struct bank_req req = { .count = 1 };
	struct bank_op op;
	s64 entry;
	int ret;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (copy_from_user(&op, uop, sizeof(op)))
		return -EFAULT;
	if (op.amount <= 0)
		return -EINVAL;
	/* Prove that the reply can be written before changing anything. */
	if (copy_to_user(uop, &op, sizeof(op)))
		return -EFAULT;

	req.amounts = &entry;
	req.delay_us = READ_ONCE(delay_us);
	if (withdraw) {
		entry = -op.amount;
		req.withdrawals = 1;
		ret = bank_update_wait(file, &req, op.amount, &op.balance);
	} else {
		entry = op.amount;
		req.deposits = 1;
		ret = bank_update(&req, &op.balance);
	}
	if (ret)
		return ret;

	/* Fails only if another thread unmapped the page since the probe. */
	if (copy_to_user(uop, &op, sizeof(op)))
		return -EFAULT;
	return 0;
}

static long bank_ioctl_batch(struct file *file,
			     struct bank_batch __user *ubatch)
{
	struct bank_req req = {};
	struct bank_batch batch;
	s64 *amounts;
	long ret;
	u32 i;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (copy_from_user(&batch, ubatch, sizeof(batch)))
		return -EFAULT;
	if (batch.flags || !batch.count)
		return -EINVAL;
	if (batch.count > BANK_BATCH_MAX)
		return -E2BIG;
	if (copy_to_user(ubatch, &batch, sizeof(batch)))
		return -EFAULT;

	amounts = memdup_user(u64_to_user_ptr(batch.amounts),
			      array_size(batch.count, sizeof(*amounts)));
	if (IS_ERR(amounts))
		return PTR_ERR(amounts);

	for (i = 0; i < batch.count; i++) {
		if (amounts[i] > 0) {
			req.deposits++;
		} else if (amounts[i] < 0 && amounts[i] != S64_MIN) {
			req.withdrawals++;
		} else {
			ret = -EINVAL;
			goto out_free;
		}
	}
	req.amounts = amounts;
	req.count = batch.count;
	req.delay_us = READ_ONCE(delay_us);

	ret = bank_update(&req, &batch.balance);
	if (ret)
		goto out_free;
	if (copy_to_user(ubatch, &batch, sizeof(batch)))
		ret = -EFAULT;
out_free:
	kfree(amounts);
	return ret;
}

static long bank_ioctl_get_balance(s64 __user *ubalance)
{
	return put_user(bank_read_balance(), ubalance);
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
	bank_reset(balance);
	return 0;
}

static long bank_ioctl_get_stats(struct bank_stats __user *ustats)
{
	struct bank_stats st;

	bank_snapshot(&st);
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
	default:
		return -ENOTTY;
	}
}

/* `cat /dev/bank`: the balance as one decimal line. */
static ssize_t bank_read(struct file *file, char __user *buf, size_t count,
			 loff_t *ppos)
{
	char line[24];
	int len;

	len = scnprintf(line, sizeof(line), "%lld\n", bank_read_balance());
	return simple_read_from_buffer(buf, count, ppos, line, len);
}

static int bank_open(struct inode *inode, struct file *file)
{
	mutex_lock(&bank_open_lock);
	bank_open_count++;
	mutex_unlock(&bank_open_lock);
	return nonseekable_open(inode, file);
}

static int bank_release(struct inode *inode, struct file *file)
{
	mutex_lock(&bank_open_lock);
	bank_open_count--;
	mutex_unlock(&bank_open_lock);
	return 0;
}

static const struct file_operations bank_fops = {
	.owner		= THIS_MODULE,
	.open		= bank_open,
	.release	= bank_release,
	.read		= bank_read,
	.unlocked_ioctl	= bank_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/* sysfs: /sys/class/misc/bank/<name>, one value per file. */
static ssize_t balance_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	s64 balance;

	/* A sysfs reader holds no descriptor: hold off a change of mode. */
	mutex_lock(&bank_open_lock);
	balance = bank_read_balance();
	mutex_unlock(&bank_open_lock);
	return sysfs_emit(buf, "%lld\n", balance);
}
static DEVICE_ATTR_RO(balance);

/* The counters: one show function, told by its attribute which to read. */
struct bank_stat_attr {
	struct device_attribute attr;
	atomic64_t *value;
};

static ssize_t bank_stat_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct bank_stat_attr *sa = container_of(attr, struct bank_stat_attr,
						 attr);

	return sysfs_emit(buf, "%lld\n", (long long)atomic64_read(sa->value));
}

static struct bank_stat_attr bank_attr_expected = {
	.attr	= __ATTR(expected, 0444, bank_stat_show, NULL),
	.value	= &bank_stats.expected,
};

static struct bank_stat_attr bank_attr_deposits = {
	.attr	= __ATTR(deposits, 0444, bank_stat_show, NULL),
	.value	= &bank_stats.deposits,
};

static struct bank_stat_attr bank_attr_withdrawals = {
	.attr	= __ATTR(withdrawals, 0444, bank_stat_show, NULL),
	.value	= &bank_stats.withdrawals,
};

static struct bank_stat_attr bank_attr_contended = {
	.attr	= __ATTR(contended, 0444, bank_stat_show, NULL),
	.value	= &bank_stats.contended,
};

static struct bank_stat_attr bank_attr_waits = {
	.attr	= __ATTR(waits, 0444, bank_stat_show, NULL),
	.value	= &bank_stats.waits,
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

/*
 * "lock": parsed into bank_mode. A change moves the balance between the
 * plain and the atomic variable, and is refused while /dev/bank is open.
 */
static int bank_mode_set(const char *val, const struct kernel_param *kp)
{
	int mode = bank_parse_lock(val);
	int ret = 0;

	if (mode < 0) {
		pr_err("lock=%.*s: unknown lock mode; use none, spinlock, mutex or atomic\n",
		       (int)strcspn(val, "\n"), val);
		return -EINVAL;
	}

	mutex_lock(&bank_open_lock);
	if (bank_open_count) {
		ret = -EBUSY;
		goto out_unlock;
	}
	if (mode == BANK_LOCK_ATOMIC && bank_mode != BANK_LOCK_ATOMIC)
		atomic64_set(&bank_abalance, bank_balance);
	else if (mode != BANK_LOCK_ATOMIC && bank_mode == BANK_LOCK_ATOMIC)
		WRITE_ONCE(bank_balance, atomic64_read(&bank_abalance));
	WRITE_ONCE(bank_mode, mode);
out_unlock:
	mutex_unlock(&bank_open_lock);
	return ret;
}

static int bank_mode_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n",
			 bank_lock_names[READ_ONCE(bank_mode)]);
}

static const struct kernel_param_ops bank_mode_ops = {
	.set	= bank_mode_set,
	.get	= bank_mode_get,
};

static int bank_delay_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, BANK_DELAY_MAX_US);
}

static const struct kernel_param_ops bank_delay_ops = {
	.set	= bank_delay_set,
	.get	= param_get_uint,
};

module_param_cb(lock, &bank_mode_ops, NULL, 0644);
MODULE_PARM_DESC(lock, "Lock guarding the balance: none, spinlock, mutex or atomic (default: mutex)");
module_param(initial_balance, long, 0444);
MODULE_PARM_DESC(initial_balance, "Balance at load time, >= 0 (default: 200)");
module_param_cb(delay_us, &bank_delay_ops, &delay_us, 0644);
MODULE_PARM_DESC(delay_us, "Microseconds between reading and writing back the balance, 0 to "
		 __stringify(BANK_DELAY_MAX_US) " (default: 0)");

static int __init bank_init(void)
{
	int ret;

	if (initial_balance < 0) {
		pr_err("initial_balance=%ld: must be >= 0\n", initial_balance);
		return -EINVAL;
	}
	bank_reset(initial_balance);

	/* Last: once registered, the device can be opened. */
	ret = misc_register(&bank_miscdev);
	if (ret) {
		pr_err("cannot register /dev/bank: %d\n", ret);
		return ret;
	}
	pr_info("/dev/bank ready: lock=%s initial_balance=%ld delay_us=%u\n",
		bank_lock_names[bank_mode], initial_balance, delay_us);
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
