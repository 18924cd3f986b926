// SPDX-License-Identifier: GPL-2.0
/*
 * The plumbing of /dev/bank, which no lab task needs: the misc device and
 * its file operations, each ioctl's copy in and out of user space, read()
 * through a seq_file, the parameters other than "lock" and "lock_order"
 * (mode.c), and the module's load and unload. The locking is in the files
 * that bank.h lists; here, every ioctl copies its arguments in, calls
 * those files, and copies the reply out: no user memory is touched under
 * a lock.
 */
#include "bank.h"

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

/*
 * Module parameters other than "lock", read with READ_ONCE() at runtime.
 * The variable of "delay_us" is global (update.c, mode.c read it), hence
 * its bank_ prefix; the parameter keeps its name.
 */
static long initial_balance = 200;
unsigned int bank_delay_us;

/* The module parameter "accounts": how many are in use. Set at load only. */
unsigned int bank_naccounts = 4;

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

	ret = bank_update_or_wait(&req, op.amount, file->f_flags & O_NONBLOCK,
				  &op.balance);
	if (ret)
		return ret;
	bank_statement_account0_changed();
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
	bank_statement_account0_changed();
	return put_user(batch.balance, &ubatch->balance);
}

static long bank_ioctl_transfer(struct file *file,
				struct bank_transfer __user *ut)
{
	struct bank_transfer t;
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

	ret = bank_transfer(&t);
	if (ret)
		return ret;
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
	return put_user(bank_peek(&bank_ledgers[acct.id]), &ua->balance);
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
	ret = bank_statement_read(all);
	/* The outputs: count, then everything after flags (an input). */
	if (!ret && (put_user(all->count, &uall->count) ||
		     copy_to_user(&uall->deposits, &all->deposits,
				  sizeof(*all) - offsetof(struct bank_accounts, deposits))))
		ret = -EFAULT;
	kfree(all);
	return ret;
}

/* What the statements met (statement.c). */
static long bank_ioctl_get_readers(struct bank_readers __user *ur)
{
	struct bank_readers r;

	bank_statement_counts(&r);
	if (copy_to_user(ur, &r, sizeof(r)))
		return -EFAULT;
	return 0;
}

/* The balance alone: a lockless look, which never stalls an update. */
static long bank_ioctl_get_balance(s64 __user *ubalance)
{
	return put_user(bank_peek(&bank_ledgers[0]), ubalance);
}

static long bank_ioctl_set_balance(struct file *file, s64 __user *ubalance)
{
	s64 balance;
	int ret;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (get_user(balance, ubalance))
		return -EFAULT;
	if (balance < 0)
		return -EINVAL;
	ret = bank_reset(balance);
	if (!ret)
		bank_statement_account0_changed();
	return ret;
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
	case BANK_IOC_GET_READERS:
		return bank_ioctl_get_readers(argp);
	default:
		return -ENOTTY;
	}
}

/*
 * `cat /dev/bank`: the balance as one decimal line, a lockless look. A
 * seq_file makes the line once per open and serves every read() of it
 * from there, so reading it in small pieces never mixes two balances.
 * bank_open() (mode.c) sets it up.
 */
int bank_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%lld\n", bank_peek(&bank_ledgers[0]));
	return 0;
}

static const struct file_operations bank_fops = {
	.owner		= THIS_MODULE,
	.open		= bank_open,
	.release	= bank_release,
	.read		= seq_read,
	.unlocked_ioctl	= bank_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice bank_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "bank",
	.fops	= &bank_fops,
	.groups	= bank_groups,
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
		bank_note_delay_cap(READ_ONCE(bank_mode), READ_ONCE(bank_delay_us));
	return ret;
}

static const struct kernel_param_ops bank_delay_ops = {
	.set	= bank_delay_set,
	.get	= param_get_uint,
};

module_param_cb(accounts, &bank_accounts_ops, &bank_naccounts, 0444);
MODULE_PARM_DESC(accounts, "Number of accounts, 1 to " __stringify(BANK_ACCOUNTS_LIMIT)
		 "; account 0 is the balance");
module_param(initial_balance, long, 0444);
MODULE_PARM_DESC(initial_balance, "Balance at load time, >= 0 (default: 200)");
module_param_cb(delay_us, &bank_delay_ops, &bank_delay_us, 0644);
MODULE_PARM_DESC(delay_us, "Microseconds between reading and writing back the balance, 0 to "
		 __stringify(BANK_DELAY_MAX_US) ", at most " __stringify(BANK_SPIN_DELAY_MAX_US)
		 " used by the spinlock (default: 0)");

static int __init bank_init(void)
{
	unsigned int i;
	int ret;

	bank_spin_slots_init();
	if (initial_balance < 0) {
		pr_err("initial_balance=%ld: must be >= 0\n", initial_balance);
		return -EINVAL;
	}
	bank_ledgers_init();

	mutex_lock(&bank_open_lock);
	for (i = 1; i < bank_naccounts; i++) {
		WRITE_ONCE(bank_ledgers[i].balance, initial_balance);
		atomic64_set(&bank_ledgers[i].abalance, initial_balance);
	}
	/* Wrapping, as a statement adds them up: see bank_statement_judge(). */
	atomic64_set(&bank_others, (s64)((u64)initial_balance * (bank_naccounts - 1)));
	/* Account 0 and the statistics: cannot fail, the lock is free. */
	ret = bank_reset(initial_balance);
	if (!ret)
		ret = bank_statement_init();
	mutex_unlock(&bank_open_lock);
	if (ret)
		return ret;

	/* Checks the parameters of interest, and starts paying. */
	ret = bank_interest_init();
	if (ret)
		goto out_statement;

	/* Last: once registered, the device can be opened. */
	ret = misc_register(&bank_miscdev);
	if (ret) {
		pr_err("cannot register /dev/bank: %d\n", ret);
		goto out_stop_interest;
	}
	pr_info("/dev/bank ready: lock=%s accounts=%u initial_balance=%ld delay_us=%u\n",
		bank_lock_names[READ_ONCE(bank_mode)], bank_naccounts,
		initial_balance, READ_ONCE(bank_delay_us));
	return 0;

out_stop_interest:
	bank_interest_exit();
out_statement:
	bank_statement_exit();
	return ret;
}

static void __exit bank_exit(void)
{
	/* First: no new descriptor after this; none is open (.owner). */
	misc_deregister(&bank_miscdev);
	/* Then no timer, no work: their code goes away with the module. */
	bank_interest_exit();
	bank_statement_exit();
}

module_init(bank_init);
module_exit(bank_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The kbank authors");
MODULE_DESCRIPTION("A shared bank balance behind /dev/bank, to teach kernel locking");
MODULE_VERSION("1.0");
