// SPDX-License-Identifier: GPL-2.0
/*
 * abi_dump: the ABI of include/uapi/linux/bank.h as the C compiler sees it,
 * one "name value" a line, in the order userspace/python/bank.py --dump
 * prints it. tests/abi/abi_check.sh compares the two.
 */
#include <stdio.h>

#include <linux/bank.h>

#define IOC(name)	printf("%s %#x\n", #name, (unsigned int)(name))
#define VAL(name)	printf("%s %d\n", #name, (int)(name))
#define SIZE(type)	printf("sizeof(struct %s) %zu\n", #type, sizeof(struct type))

int main(void)
{
	IOC(BANK_IOC_DEPOSIT);
	IOC(BANK_IOC_WITHDRAW);
	IOC(BANK_IOC_GET_BALANCE);
	IOC(BANK_IOC_SET_BALANCE);
	IOC(BANK_IOC_GET_STATS);
	IOC(BANK_IOC_BATCH);
	IOC(BANK_IOC_TRANSFER);
	IOC(BANK_IOC_GET_ACCOUNT);
	IOC(BANK_IOC_GET_ACCOUNTS);
	IOC(BANK_IOC_GET_READERS);
	VAL(BANK_LOCK_NONE);
	VAL(BANK_LOCK_SPINLOCK);
	VAL(BANK_LOCK_MUTEX);
	VAL(BANK_LOCK_ATOMIC);
	VAL(BANK_BATCH_MAX);
	VAL(BANK_ACCOUNTS_MAX);
	VAL(BANK_STATEMENT_LOCKS);
	VAL(BANK_STATEMENT_NONE);
	VAL(BANK_STATEMENT_RWLOCK);
	VAL(BANK_STATEMENT_RWSEM);
	VAL(BANK_STATEMENT_SEQLOCK);
	VAL(BANK_STATEMENT_RCU);
	SIZE(bank_op);
	SIZE(bank_stats);
	SIZE(bank_batch);
	SIZE(bank_transfer);
	SIZE(bank_account);
	SIZE(bank_accounts);
	SIZE(bank_readers);
	return 0;
}
