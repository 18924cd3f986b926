// SPDX-License-Identifier: GPL-2.0
/*
 * suite-reply: the reply: an update's answer written back to memory that is
 * read-only, went away during the call, cannot be pinned, or straddles two
 * pages; and no page held pinned while a call waits.
 *
 * suite-reply --help: how to run it.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

/*
 * Readable but not writable: the argument is read, the change is made, and
 * the reply cannot be written. The header says what EFAULT then means: the
 * change stands. A deposit of 1 and a withdrawal of 1 both happened.
 */
TEST(efault_on_the_reply_the_change_stands)
{
	struct bank_stats st;
	struct bank_op *ro;
	int fd;

	setup("mutex", 200);
	ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_TRUE(ro != MAP_FAILED);
	ro->amount = 1;
	ASSERT_EQ(mprotect(ro, 4096, PROT_READ), 0);
	fd = dev_open(O_RDWR);
	EXPECT_ERRNO(ioctl(fd, BANK_IOC_DEPOSIT, ro), EFAULT);
	EXPECT_EQ(get_stats().balance, 201);
	EXPECT_ERRNO(ioctl(fd, BANK_IOC_WITHDRAW, ro), EFAULT);
	close(fd);
	munmap(ro, 4096);
	st = get_stats();
	EXPECT_EQ(st.balance, 200);
	EXPECT_EQ(st.expected, 200);
	EXPECT_EQ(st.deposits, 1);
	EXPECT_EQ(st.withdrawals, 1);
}

struct blocked_op {
	int fd;
	struct bank_op *op;
	int err;
};

static void *blocked_op_thread(void *arg)
{
	struct blocked_op *b = arg;

	b->err = ioctl(b->fd, BANK_IOC_WITHDRAW, b->op) < 0 ? errno : 0;
	return NULL;
}

/*
 * A withdrawal of 30 blocks; another thread unmaps the struct bank_op it
 * will answer in; a deposit of 50 wakes it. It withdrew, and its reply
 * could not be written: EFAULT, and the withdrawal stands (the header's
 * meaning of EFAULT after a change), in every mode.
 */
TEST_F(lock_mode, efault_after_a_change_the_change_stands)
{
	struct blocked_op b = { .err = -1 };
	struct bank_stats st;
	pthread_t t;
	int fd;

	setup(variant->lock, 0);
	b.fd = dev_open(O_RDWR);
	b.op = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(b.op != MAP_FAILED);
	b.op->amount = 30;
	ASSERT_EQ(pthread_create(&t, NULL, blocked_op_thread, &b), 0);
	wait_for_waiters(1);
	ASSERT_EQ(munmap(b.op, 4096), 0);
	fd = dev_open(O_RDWR);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 50, NULL), 0);
	close(fd);
	pthread_join(t, NULL);
	close(b.fd);
	st = get_stats();
	TH_LOG("%-8s withdraw returned %s; balance %lld, withdrawals %llu",
	       variant->lock, b.err ? strerror(b.err) : "0", (long long)st.balance,
	       (unsigned long long)st.withdrawals);
	EXPECT_EQ(b.err, EFAULT);
	EXPECT_EQ(st.balance, 20);
	EXPECT_EQ(st.expected, 20);
	EXPECT_EQ(st.withdrawals, 1);
	EXPECT_EQ(st.deposits, 1);
}

/* nr_foll_pin_acquired - nr_foll_pin_released in /proc/vmstat: pages pinned now. */
static long long pins_held(void)
{
	long long acq = -1, rel = -1, v;
	char name[64];
	FILE *f;

	/* Fold every CPU's pending counts into /proc/vmstat first. */
	f = fopen("/proc/sys/vm/stat_refresh", "w");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	f = fopen("/proc/vmstat", "r");
	ASSERT_TRUE(f != NULL);
	while (fscanf(f, "%63s %lld", name, &v) == 2) {
		if (!strcmp(name, "nr_foll_pin_acquired"))
			acq = v;
		else if (!strcmp(name, "nr_foll_pin_released"))
			rel = v;
	}
	fclose(f);
	if (acq < 0 || rel < 0)
		SKIP("no pin counters in /proc/vmstat");
	return acq - rel;
}

/*
 * While a withdrawal sleeps for funds, for as long as its caller likes, it
 * holds no page of the caller's pinned: a pin that lasts keeps memory
 * from being moved, offlined or compacted.
 */
TEST(no_pin_held_while_waiting_for_funds)
{
	struct blocked_op b = { .err = -1 };
	struct bank_op o = { .amount = 30 };
	long long before, during;
	pthread_t t;
	int fd;

	setup("mutex", 0);
	before = pins_held();
	b.fd = dev_open(O_RDWR);
	b.op = &o;
	ASSERT_EQ(pthread_create(&t, NULL, blocked_op_thread, &b), 0);
	wait_for_waiters(1);
	during = pins_held();
	fd = dev_open(O_RDWR);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 50, NULL), 0);
	close(fd);
	pthread_join(t, NULL);
	close(b.fd);
	TH_LOG("pages pinned: %lld before, %lld while the withdrawal waits", before, during);
	EXPECT_EQ(during, before);
	EXPECT_EQ(b.err, 0);
	EXPECT_EQ(o.balance, 20);
}

/*
 * Memory that copy_to_user() writes but that cannot be pinned
 * (memfd_secret(), booted with secretmem.enable=1 by the harness): an
 * update answers there as GET_STATS does.
 */
TEST(update_replies_into_secret_memory)
{
	struct bank_stats *st;
	struct bank_op *o;
	int sfd, fd;
	void *p;

#ifdef SYS_memfd_secret
	sfd = syscall(SYS_memfd_secret, 0);
#else
	sfd = -1;
	errno = ENOSYS;
#endif
	if (sfd < 0)
		SKIP("memfd_secret: %s (booted without secretmem.enable=1?)", strerror(errno));
	ASSERT_EQ(ftruncate(sfd, 4096), 0);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
	ASSERT_TRUE(p != MAP_FAILED);
	setup("mutex", 200);
	fd = dev_open(O_RDWR);
	st = p;
	EXPECT_EQ(ioctl(fd, BANK_IOC_GET_STATS, st), 0);
	EXPECT_EQ(st->balance, 200);
	o = p;
	o->amount = 5;
	EXPECT_EQ(ioctl(fd, BANK_IOC_DEPOSIT, o), 0);
	EXPECT_EQ(o->balance, 205);
	o->amount = 5;
	EXPECT_EQ(ioctl(fd, BANK_IOC_WITHDRAW, o), 0);
	EXPECT_EQ(o->balance, 200);
	close(fd);
	munmap(p, 4096);
	close(sfd);
}

struct unmapper {
	void *page;
	int fd;
	int err;
};

static void *unmapping_depositor(void *arg)
{
	struct unmapper *u = arg;

	u->err = ioctl(u->fd, BANK_IOC_DEPOSIT, u->page) < 0 ? errno : 0;
	return NULL;
}

/*
 * Mode mutex, holders sleeping 10 ms each: a deposit waits for the mutex
 * while another thread unmaps its struct. Each call succeeds, or fails with
 * EFAULT, which may come before the change (the struct was gone when read)
 * or after it (the reply): its millions are at least the successes and at
 * most the successes and the EFAULTs, and no update is lost.
 */
TEST_TIMEOUT(efault_or_done_during_mutex_wait, 120)
{
	struct bank_stats st;
	pid_t holders[3];
	long done = 0, faulted = 0;
	int i, fd;

	setup("mutex", 0);
	ASSERT_EQ(bank_param_write("delay_us", "10000"), 0);
	for (i = 0; i < 3; i++) {
		holders[i] = fork();
		ASSERT_TRUE(holders[i] >= 0);
		if (holders[i] == 0) {
			int hfd = dev_open(O_RDWR);

			for (;;)
				op(hfd, BANK_IOC_DEPOSIT, 1, NULL);
		}
	}
	fd = dev_open(O_RDWR);
	for (i = 0; i < 10; i++) {
		struct unmapper u = { .fd = fd, .err = -1 };
		struct bank_op *o;
		pthread_t t;

		u.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_TRUE(u.page != MAP_FAILED);
		o = u.page;
		o->amount = 1000000;
		ASSERT_EQ(pthread_create(&t, NULL, unmapping_depositor, &u), 0);
		sleep_ms(2);
		munmap(u.page, 4096);
		pthread_join(t, NULL);
		if (u.err == 0)
			done++;
		else if (u.err == EFAULT)
			faulted++;
		else
			EXPECT_EQ(u.err, 0);
	}
	close(fd);
	for (i = 0; i < 3; i++) {
		kill(holders[i], SIGKILL);
		waitpid(holders[i], NULL, 0);
	}
	st = get_stats();
	TH_LOG("10 deposits whose struct was unmapped mid-call: %ld done, %ld EFAULT",
	       done, faulted);
	EXPECT_TRUE(st.balance / 1000000 >= done);
	EXPECT_TRUE(st.balance / 1000000 <= done + faulted);
	EXPECT_EQ(st.expected, st.balance);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
}

/*
 * Two pages, the first to be made read-only: a struct placed at
 * page boundary - @out_offset has its inputs on the first, its outputs on
 * the second.
 */
static void *straddle(size_t out_offset)
{
	char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_TRUE(two != MAP_FAILED);
	return two + 4096 - out_offset;
}

static void straddle_protect(void *p, size_t out_offset)
{
	ASSERT_EQ(mprotect((char *)p + out_offset - 4096, 4096, PROT_READ), 0);
}

/*
 * A reply writes the outputs only: a struct whose inputs lie on a
 * read-only page and whose outputs lie on the next, writable one gets its
 * answer (as a deposit's does), not an EFAULT after the change.
 */
TEST(reply_writes_only_the_outputs)
{
	size_t toff = offsetof(struct bank_transfer, from_balance);
	size_t aoff = offsetof(struct bank_account, balance);
	size_t ooff = offsetof(struct bank_op, balance);
	struct bank_transfer *t = straddle(toff);
	struct bank_account *a = straddle(aoff);
	struct bank_op *o = straddle(ooff);
	struct bank_accounts all;
	int fd;

	setup("mutex", 200);
	t->from = 1;
	t->to = 2;
	t->amount = 7;
	a->id = 2;
	o->amount = 3;
	straddle_protect(t, toff);
	straddle_protect(a, aoff);
	straddle_protect(o, ooff);
	fd = dev_open(O_RDWR);
	EXPECT_EQ(ioctl(fd, BANK_IOC_DEPOSIT, o), 0);
	EXPECT_EQ(o->balance, 203);
	EXPECT_EQ(ioctl(fd, BANK_IOC_TRANSFER, t), 0);
	EXPECT_EQ(ioctl(fd, BANK_IOC_GET_ACCOUNT, a), 0);
	close(fd);
	all = get_accounts();
	EXPECT_EQ(t->from_balance, all.balances[1]);
	EXPECT_EQ(t->to_balance, all.balances[2]);
	EXPECT_EQ(a->balance, all.balances[2]);
	fd = dev_open(O_RDWR);
	EXPECT_EQ(xfer(fd, 2, 1, 7, NULL), 0);
	close(fd);
}

SUITE_MAIN("suite-reply: the reply written back, and what EFAULT means.")
