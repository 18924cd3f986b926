// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs: /sys/class/misc/bank/<name>, one value per file: the balance of
 * account 0 and its counters (struct bank_counters). main.c hangs these
 * attributes on the misc device.
 */
#include "bank.h"

#include <linux/device.h>
#include <linux/sysfs.h>

static ssize_t balance_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	/*
	 * Anyone may read this file, so it takes no lock that others wait
	 * for: a lockless look, which is the balance at some instant during
	 * the read. A change of lock mode (never while an update can run)
	 * leaves both variables holding that balance.
	 */
	return sysfs_emit(buf, "%lld\n", bank_peek(&bank_ledgers[0]));
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
	.var	= &bank_counts.expected,
};

static struct dev_ext_attribute bank_attr_deposits = {
	.attr	= __ATTR(deposits, 0444, bank_stat_show, NULL),
	.var	= &bank_counts.deposits,
};

static struct dev_ext_attribute bank_attr_withdrawals = {
	.attr	= __ATTR(withdrawals, 0444, bank_stat_show, NULL),
	.var	= &bank_counts.withdrawals,
};

static struct dev_ext_attribute bank_attr_contended = {
	.attr	= __ATTR(contended, 0444, bank_stat_show, NULL),
	.var	= &bank_counts.contended,
};

static struct dev_ext_attribute bank_attr_waits = {
	.attr	= __ATTR(waits, 0444, bank_stat_show, NULL),
	.var	= &bank_counts.waits,
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

static const struct attribute_group bank_group = {
	.attrs	= bank_attrs,
};

/* What ATTRIBUTE_GROUPS() makes, but visible to main.c's miscdevice. */
const struct attribute_group *bank_groups[] = {
	&bank_group,
	NULL
};
