// SPDX-License-Identifier: GPL-2.0
/*
 * bank_fuzz: a seeded fuzzer that speaks /dev/bank's ABI, and the fail-nth
 * walk. Run in the VM (make fuzz, make check-sanitize).
 *
 *   bank_fuzz [-s SEED] [-t SECONDS] [-n WORKERS] [-o OPS] [-D WHAT]
 *   bank_fuzz -F                     the fail-nth walk
 *
 * WORKERS processes (one of them 32-bit when bank_fuzz32 lies next to this
 * program) make random calls, valid and invalid, across the whole ABI: every
 * command and its neighbouring numbers, sizes and directions, amounts at the
 * edges, bad pointers, batches of every size, O_NONBLOCK toggled, descriptors
 * opened and closed, SET_BALANCE racing the others, the module parameters
 * written while the device is open. The parent signals them (which ends a
 * withdrawal blocked for funds) and, every so often, stops them all at a
 * barrier and checks the device against the ledger that the workers keep in
 * shared memory: each account's balance is its start plus the sum of the
 * successful calls, account 0's balance equals "expected" and the ledger,
 * the counters agree, money is conserved. A racing SET_BALANCE makes account
 * 0 unknowable until the next one made at a barrier; the last part of a run
 * has none. In lock mode none, only the errnos and the kernel's survival
 * are checked.
 *
 * Every call's errno must be one the header documents for that command.
 * On a failure: "FAIL: ...", the seed, and the shortest one-worker replay
 * found (OPS=n). Exit 0 clean, 1 a check failed, 2 usage.
 *
 * -D ledger|balance|errno: the checker's own test. Doctor the ledger, the
 * balance read back, or an errno; the run must then fail.
 *
 * -W PATH -i N: internal, a worker (the 32-bit one) on the shared file PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bank_client.h"

#define MAXW		8
#define NERR		128
#define S64_MAX		INT64_MAX
#define S64_MIN		INT64_MIN

/* Commands as the ledger counts them: the ABI's, then the rest. */
enum {
	C_DEPOSIT, C_WITHDRAW, C_GET_BALANCE, C_SET_BALANCE, C_GET_STATS,
	C_BATCH, C_TRANSFER, C_GET_ACCOUNT, C_GET_ACCOUNTS, C_OTHER, C_READ,
	C_PARAM, NCMD
};

static const char *const cmd_names[NCMD] = {
	"DEPOSIT", "WITHDRAW", "GET_BALANCE", "SET_BALANCE", "GET_STATS",
	"BATCH", "TRANSFER", "GET_ACCOUNT", "GET_ACCOUNTS", "unknown ioctl",
	"read", "param write",
};

/*
 * The errnos the header documents, per command: EBADF without write access,
 * EFAULT, EINTR where the call can wait, ENOMEM where it allocates, and what
 * each command's own comment names. Index 0 (success) is always allowed.
 */
static const int doc_errnos[NCMD][9] = {
	[C_DEPOSIT]	 = { EBADF, EFAULT, EINVAL, EOVERFLOW, EINTR },
	[C_WITHDRAW]	 = { EBADF, EFAULT, EINVAL, EAGAIN, EINTR },
	[C_GET_BALANCE]	 = { EFAULT, EINTR },
	[C_SET_BALANCE]	 = { EBADF, EFAULT, EINVAL, EINTR },
	[C_GET_STATS]	 = { EFAULT, EINTR },
	[C_BATCH]	 = { EBADF, EFAULT, EINVAL, E2BIG, EOVERFLOW, EAGAIN,
			     ENOMEM, EINTR },
	[C_TRANSFER]	 = { EBADF, EFAULT, EINVAL, EAGAIN, EOVERFLOW, EINTR },
	[C_GET_ACCOUNT]	 = { EFAULT, EINVAL },
	[C_GET_ACCOUNTS] = { EFAULT, EINVAL, ENOMEM, EINTR },
	[C_OTHER]	 = { ENOTTY },
	[C_READ]	 = { EFAULT, EINTR },
	[C_PARAM]	 = { EBUSY, EINVAL },
};

static bool documented(int cmd, int err)
{
	unsigned int i;

	if (!err)
		return true;
	for (i = 0; i < 9 && doc_errnos[cmd][i]; i++)
		if (doc_errnos[cmd][i] == err)
			return true;
	return false;
}

#define A8 _Alignas(8)

/*
 * One worker's ledger: written by that worker only, read by the parent at a
 * barrier. Fixed-size fields, 8-byte aligned: a 32-bit worker shares it.
 * Sums are modulo 2^64 (uint64_t): a balance is in 0..S64_MAX, so equality
 * modulo 2^64 is equality.
 */
struct wslot {
	A8 uint64_t delta[BANK_ACCOUNTS_MAX];	/* per account */
	A8 uint64_t deposits, withdrawals;	/* account 0, counted */
	A8 uint64_t calls, ops;
	A8 uint64_t atomic_xfer_overflow;	/* see check() */
	A8 int32_t pid, is32;
	uint8_t seen[NCMD][NERR];
};

struct shm {
	_Atomic int32_t readers, writer, stop, dirty, failed, racing_sets;
	int32_t mode, naccounts, nworkers, doctor;
	int32_t checks, checks0;	/* barrier checks; with account 0 known */
	int32_t pad;
	A8 uint64_t seed, deadline_ns, race_until_ns, max_ops;
	A8 int64_t base[BANK_ACCOUNTS_MAX];	/* balances when the ledger began */
	A8 uint64_t mark_delta0, mark_dep, mark_wd;	/* at the last fenced set */
	char failmsg[512];
	struct wslot w[MAXW];
};

enum { DOC_NONE, DOC_LEDGER, DOC_BALANCE, DOC_ERRNO };

static struct shm *sh;
static int me;			/* worker index, -1 in the parent */
static uint64_t rng;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint32_t below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;
	int first = atomic_exchange(&sh->failed, 1) == 0;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("# FAIL: %s\n", buf);
	fflush(stdout);
	if (first)
		snprintf(sh->failmsg, sizeof(sh->failmsg), "%s", buf);
	atomic_store(&sh->stop, 1);
}

/* Amounts at the edges, and ordinary ones. */
static int64_t amount(void)
{
	static const int64_t edge[] = {
		0, 1, -1, 2, S64_MAX, S64_MAX - 1, S64_MIN, S64_MIN + 1,
		S64_MAX / 2, S64_MAX / 2 + 1, INT64_C(1) << 62, -(INT64_C(1) << 62),
		INT32_MAX, (int64_t)UINT32_MAX + 1,
	};

	switch (below(8)) {
	case 0:
		return edge[below(sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return (int64_t)rnd();
	default:
		return 1 + below(50);
	}
}

/* ---- memory to point at: good, and bad in every way ---- */

static char *good;		/* 2 writable pages */
static char *ronly;		/* a read-only page */
static char *edge_page;		/* a writable page, then a PROT_NONE one */
static char *none_page;		/* PROT_NONE */

static void map_memory(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 6 * pg, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die_errno("mmap");
	good = p;
	ronly = p + 2 * pg;
	edge_page = p + 3 * pg;
	none_page = p + 4 * pg;
	memset(p, 0, 4 * pg);
	if (mprotect(ronly, pg, PROT_READ) || mprotect(none_page, 2 * pg, PROT_NONE))
		die_errno("mprotect");
}

enum { P_GOOD, P_STRADDLE_OK, P_MISALIGNED, P_NULL, P_UNMAPPED, P_RONLY,
       P_STRADDLE_BAD, P_KERNEL, NPTR };

/*
 * Where to put an argument of @size bytes: @kind says how. The contents
 * are copied there from @arg (read-only: the page holds whatever it held).
 */
static void *place(int kind, const void *arg, size_t size)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p;

	switch (kind) {
	case P_GOOD:
		p = good + 64;
		break;
	case P_STRADDLE_OK:
		p = good + pg - size / 2;
		break;
	case P_MISALIGNED:
		p = good + 128 + 1 + below(7);
		break;
	case P_NULL:
		return NULL;
	case P_UNMAPPED:
		return none_page + 8 * below(64);
	case P_RONLY:
		/* Readable and holding @arg, but not writable for the reply. */
		p = ronly + 8 * below(64);
		if (mprotect(ronly, (size_t)pg, PROT_READ | PROT_WRITE))
			die_errno("mprotect");
		memcpy(p, arg, size);
		if (mprotect(ronly, (size_t)pg, PROT_READ))
			die_errno("mprotect");
		return p;
	case P_STRADDLE_BAD:
		p = edge_page + pg - size / 2;
		break;
	default:
		return sizeof(void *) == 8 ? (void *)(uintptr_t)0xffff888000001000ull :
					     (void *)(uintptr_t)0xfffff000u;
	}
	if (kind == P_STRADDLE_BAD) {
		memcpy(p, arg, size / 2);
		return p;
	}
	memcpy(p, arg, size);
	return p;
}

static int pick_ptr(void)
{
	return below(4) ? (below(3) ? P_GOOD : below(2) ? P_STRADDLE_OK : P_MISALIGNED)
			: (int)below(NPTR);
}

/* The argument cannot be read, or cannot be written back. */
static bool unreadable(int kind)
{
	return kind >= P_NULL && kind != P_RONLY;
}

/*
 * EFAULT after the change (the header): a call that changes a balance
 * reads a read-only argument, makes the change, and fails only to write
 * the reply back. The change stands, and the ledger must count it.
 */
static bool changed_then_efault(int err, int kind)
{
	return err == EFAULT && kind == P_RONLY;
}

/* ---- the barrier: workers run "shared", the checker alone ---- */

static void enter(void)
{
	for (;;) {
		while (atomic_load(&sh->writer) && !atomic_load(&sh->stop))
			usleep(200);
		atomic_fetch_add(&sh->readers, 1);
		if (!atomic_load(&sh->writer) || atomic_load(&sh->stop))
			return;
		atomic_fetch_sub(&sh->readers, 1);
	}
}

static void leave(void)
{
	atomic_fetch_sub(&sh->readers, 1);
}

static void on_signal(int sig)
{
	(void)sig;
}

static struct wslot *slot(void)
{
	return &sh->w[me];
}

static void seen(int cmd, int err)
{
	if (sh->doctor == DOC_ERRNO && me == 0 && cmd == C_GET_STATS && !err &&
	    slot()->calls > 50)
		err = EHOSTDOWN;
	slot()->seen[cmd][err < NERR ? err : NERR - 1] = 1;
	if (!documented(cmd, err))
		fail("worker %d: %s failed with %s (%d), which the header does not document",
		     me, cmd_names[cmd], strerror(err), err);
}

static int fd = -1, fd_flags;

static void reopen(void)
{
	static const int modes[] = { O_RDWR, O_RDWR, O_RDWR, O_RDONLY, O_WRONLY };

	if (fd >= 0)
		close(fd);
	fd_flags = modes[below(5)] | (below(4) ? 0 : O_NONBLOCK);
	fd = open(BANK_DEVICE, fd_flags | O_CLOEXEC);
	if (fd < 0) {
		fail("worker %d: open %s: %s", me, BANK_DEVICE, strerror(errno));
		fd = open("/dev/null", O_RDONLY);
	}
}

static bool writable(void)
{
	return (fd_flags & O_ACCMODE) != O_RDONLY;
}

static int call(unsigned long cmd, void *arg)
{
	slot()->calls++;
	return ioctl(fd, cmd, arg) < 0 ? errno : 0;
}

static bool locked_mode(void)
{
	return sh->mode != BANK_LOCK_NONE;
}

/* Record a change of account 0 by @d in the ledger. */
static void credit(int acct, int64_t d)
{
	slot()->delta[acct] += (uint64_t)d;
}

static void op_depwd(bool withdraw)
{
	struct bank_op op = { .amount = amount(), .balance = -7 };
	int kind = pick_ptr(), err;
	struct bank_op *p;

	if (withdraw && below(3) == 0 && op.amount > 0)
		op.amount = 1000 + below(100000);	/* likely to block */
	p = place(kind, &op, sizeof(op));
	err = call(withdraw ? BANK_IOC_WITHDRAW : BANK_IOC_DEPOSIT, p);
	seen(withdraw ? C_WITHDRAW : C_DEPOSIT, err);
	if (err && !changed_then_efault(err, kind))
		return;
	if (!err && (unreadable(kind) || kind == P_RONLY))
		fail("worker %d: %s through a bad pointer (kind %d) succeeded",
		     me, withdraw ? "WITHDRAW" : "DEPOSIT", kind);
	if (!writable())
		fail("worker %d: a change through a read-only descriptor", me);
	if (op.amount <= 0)
		fail("worker %d: amount %" PRId64 " accepted", me, (int64_t)op.amount);
	if (!err && p->balance < 0 && locked_mode())
		fail("worker %d: reply balance %" PRId64 " < 0", me, (int64_t)p->balance);
	credit(0, withdraw ? -op.amount : op.amount);
	if (withdraw)
		slot()->withdrawals++;
	else
		slot()->deposits++;
}

static void op_batch(void)
{
	static const uint32_t counts[] = { 0, 1, 2, 3, BANK_BATCH_MAX,
					   BANK_BATCH_MAX + 1, 0xffffffffu };
	static int64_t amounts[BANK_BATCH_MAX + 1];
	static char abuf[sizeof(amounts) + 8];
	long pg = sysconf(_SC_PAGESIZE);
	struct bank_batch b = { 0 }, *p;
	int kind = pick_ptr(), akind = below(6) ? P_GOOD : (int)below(NPTR);
	char *ap;
	uint64_t dep = 0, wd = 0, net = 0;
	uint32_t i, n;
	int err;

	b.count = below(3) ? 1 + below(8) : counts[below(7)];
	b.flags = below(12) ? 0 : 1u << below(32);
	n = b.count < BANK_BATCH_MAX + 1 ? b.count : BANK_BATCH_MAX + 1;
	for (i = 0; i < n; i++) {
		amounts[i] = below(6) ? (int64_t)below(40) - 15 : amount();
		if (!amounts[i] && below(4))
			amounts[i] = 3;
	}
	/* The array: in place, misaligned, or bad (its contents then moot). */
	switch (akind) {
	case P_NULL:
		ap = NULL;
		break;
	case P_UNMAPPED:
		ap = none_page;
		break;
	case P_RONLY:
		/* Readable: it holds the entries, and the batch may succeed. */
		if ((long)n * 8 > pg) {
			ap = NULL;
			break;
		}
		ap = ronly;
		if (mprotect(ronly, (size_t)pg, PROT_READ | PROT_WRITE))
			die_errno("mprotect");
		memcpy(ap, amounts, (size_t)n * 8);
		if (mprotect(ronly, (size_t)pg, PROT_READ))
			die_errno("mprotect");
		akind = P_GOOD;
		break;
	case P_STRADDLE_BAD:
		ap = edge_page + pg - 8 * (n / 2);
		break;
	case P_KERNEL:
		ap = place(P_KERNEL, NULL, 0);
		break;
	default:
		ap = abuf + (akind == P_MISALIGNED ? 1 + below(7) : 0);
		memcpy(ap, amounts, (size_t)n * 8);
		akind = P_GOOD;
		break;
	}
	b.amounts = (uint64_t)(uintptr_t)ap;
	p = place(kind, &b, sizeof(b));
	err = call(BANK_IOC_BATCH, p);
	seen(C_BATCH, err);
	if (err && !(changed_then_efault(err, kind) && akind == P_GOOD))
		return;
	if (!err && (unreadable(kind) || kind == P_RONLY || akind != P_GOOD))
		fail("worker %d: BATCH succeeded with a bad pointer: struct kind %d, array kind %d",
		     me, kind, akind);
	if (b.flags || !b.count || b.count > BANK_BATCH_MAX)
		fail("worker %d: BATCH count %u flags %#x accepted", me, b.count, b.flags);
	for (i = 0; i < b.count; i++) {
		net += (uint64_t)amounts[i];
		if (amounts[i] > 0)
			dep++;
		else
			wd++;
	}
	credit(0, (int64_t)net);
	slot()->deposits += dep;
	slot()->withdrawals += wd;
}

static void op_transfer(void)
{
	struct bank_transfer t = { 0 }, *p;
	int kind = pick_ptr(), err;
	uint32_t n = (uint32_t)sh->naccounts;

	t.from = below(10) ? below(n) : (below(2) ? n : (uint32_t)rnd());
	t.to = below(10) ? below(n) : (below(2) ? n : t.from);
	t.amount = below(2) ? 1 + below(30) : amount();
	p = place(kind, &t, sizeof(t));
	err = call(BANK_IOC_TRANSFER, p);
	seen(C_TRANSFER, err);
	if (err == EOVERFLOW && sh->mode == BANK_LOCK_ATOMIC)
		slot()->atomic_xfer_overflow++;
	if (err && !changed_then_efault(err, kind))
		return;
	if ((!err && (unreadable(kind) || kind == P_RONLY)) || t.from >= n || t.to >= n ||
	    t.from == t.to || t.amount <= 0)
		fail("worker %d: TRANSFER %u -> %u of %" PRId64 " (pointer kind %d) succeeded",
		     me, t.from, t.to, (int64_t)t.amount, kind);
	credit((int)t.from, -t.amount);
	credit((int)t.to, t.amount);
}

static void op_set_balance(void)
{
	int64_t v = below(4) ? 100 + below(1000) : amount(), *p;
	int kind = pick_ptr(), err;

	/*
	 * Racing the other workers: once one succeeds, account 0's ledger is
	 * unknown until the checker's next set. A failed one changes nothing.
	 */
	if (now_ns() > sh->race_until_ns)
		return;
	p = place(kind, &v, sizeof(v));
	err = call(BANK_IOC_SET_BALANCE, p);
	seen(C_SET_BALANCE, err);
	if (err)
		return;
	atomic_store(&sh->dirty, 1);
	atomic_fetch_add(&sh->racing_sets, 1);
	if (unreadable(kind) || v < 0 || !writable())
		fail("worker %d: SET_BALANCE %" PRId64 " (pointer kind %d) succeeded", me, v, kind);
}

static void op_getters(void)
{
	union {
		struct bank_stats st;
		struct bank_account a;
		struct bank_accounts all;
		int64_t b;
	} u;
	int kind = pick_ptr(), err, c = (int)below(4);
	void *p;

	memset(&u, 0, sizeof(u));
	switch (c) {
	case 0:
		p = place(kind, &u, sizeof(u.b));
		err = call(BANK_IOC_GET_BALANCE, p);
		seen(C_GET_BALANCE, err);
		if (!err && locked_mode() && *(int64_t *)p < 0)
			fail("worker %d: GET_BALANCE %" PRId64 " < 0", me, *(int64_t *)p);
		break;
	case 1:
		p = place(kind, &u, sizeof(u.st));
		err = call(BANK_IOC_GET_STATS, p);
		seen(C_GET_STATS, err);
		if (!err && locked_mode()) {
			struct bank_stats *st = p;

			if (st->balance < 0 || st->balance != st->expected)
				fail("worker %d: GET_STATS balance %" PRId64 " expected %" PRId64,
				     me, (int64_t)st->balance, (int64_t)st->expected);
			if (st->lock != (uint32_t)sh->mode)
				fail("worker %d: GET_STATS lock %u", me, st->lock);
		}
		break;
	case 2:
		u.a.id = below(8) ? below((uint32_t)sh->naccounts) : (uint32_t)rnd();
		u.a.flags = below(10) ? 0 : 1 + below(3);
		p = place(kind, &u, sizeof(u.a));
		err = call(BANK_IOC_GET_ACCOUNT, p);
		seen(C_GET_ACCOUNT, err);
		if (!err && (u.a.id >= (uint32_t)sh->naccounts || u.a.flags ||
			     unreadable(kind) || kind == P_RONLY))
			fail("worker %d: GET_ACCOUNT %u flags %u kind %d succeeded",
			     me, u.a.id, u.a.flags, kind);
		break;
	default:
		u.all.flags = below(10) ? 0 : 1;
		p = place(kind, &u, sizeof(u.all));
		err = call(BANK_IOC_GET_ACCOUNTS, p);
		seen(C_GET_ACCOUNTS, err);
		if (!err && ((int)((struct bank_accounts *)p)->count != sh->naccounts ||
			     u.all.flags))
			fail("worker %d: GET_ACCOUNTS count %u", me,
			     ((struct bank_accounts *)p)->count);
		if (!err && locked_mode()) {
			int i;

			for (i = 0; i < sh->naccounts; i++)
				if (((struct bank_accounts *)p)->balances[i] < 0)
					fail("worker %d: account %d < 0", me, i);
		}
		break;
	}
}

/* Neighbours of the real commands: other numbers, sizes, directions, types. */
static void op_other(void)
{
	static const unsigned long real[] = {
		BANK_IOC_DEPOSIT, BANK_IOC_WITHDRAW, BANK_IOC_GET_BALANCE,
		BANK_IOC_SET_BALANCE, BANK_IOC_GET_STATS, BANK_IOC_BATCH,
		BANK_IOC_TRANSFER, BANK_IOC_GET_ACCOUNT, BANK_IOC_GET_ACCOUNTS,
	};
	unsigned long cmd = real[below(9)];
	unsigned int i;
	int err;

	switch (below(5)) {
	case 0:	/* another number */
		cmd = (cmd & ~0xfful) | (0x09 + below(0xf7));
		break;
	case 1:	/* another size */
		cmd ^= (unsigned long)(1 + below(0x3fff)) << _IOC_SIZESHIFT;
		break;
	case 2:	/* another direction */
		cmd ^= (unsigned long)(1 + below(3)) << _IOC_DIRSHIFT;
		break;
	case 3:	/* another type */
		cmd ^= (unsigned long)(1 + below(0xff)) << _IOC_TYPESHIFT;
		break;
	default:
		cmd = (unsigned long)rnd();
		break;
	}
	for (i = 0; i < 9; i++)
		if ((unsigned int)cmd == (unsigned int)real[i])
			return;
	err = call(cmd, place(pick_ptr(), good, 16));
	seen(C_OTHER, err);
	if (!err)
		fail("worker %d: ioctl %#lx succeeded", me, cmd);
}

static void op_read(void)
{
	int kind = pick_ptr();
	size_t n = below(4) ? 64 : below(3);
	char *p = place(kind, good, 16);
	ssize_t r;

	if (kind == P_STRADDLE_BAD || kind == P_STRADDLE_OK)
		n = 16;
	slot()->calls++;
	r = read(fd, p, n);
	if (r < 0 && (fd_flags & O_ACCMODE) == O_WRONLY && errno == EBADF)
		return;
	seen(C_READ, r < 0 ? errno : 0);
}

/*
 * Parameters while the device is open: lock, lock_order and the interest
 * payer's EBUSY.
 */
static void op_param(void)
{
	static const char *const locks[] = { "none", "spinlock", "mutex", "atomic" };
	static const char *const interest[][2] = {
		{ "interest_ms", "1" }, { "interest_ms", "0" },
		{ "interest_ctx", "softirq" }, { "interest_ctx", "hardirq" },
		{ "interest_lock", "plain" },
	};
	char v[8];
	int r;

	switch (below(5)) {
	case 0:
		r = bank_param_write("lock", locks[below(4)]);
		break;
	case 1:
		r = bank_param_write("lock_order", below(2) ? "naive" : "ordered");
		break;
	case 2:	/* delay_us may change while open; keep it short */
		snprintf(v, sizeof(v), "%u", below(3));
		r = bank_param_write("delay_us", v);
		if (r < 0)
			fail("worker %d: delay_us=%s refused: %s", me, v, strerror(errno));
		seen(C_PARAM, r < 0 ? errno : 0);
		return;
	case 3:
		r = bank_param_write("delay_us", "10001");
		if (r == 0 || errno != EINVAL)
			fail("worker %d: delay_us=10001: %s", me, r ? strerror(errno) : "accepted");
		seen(C_PARAM, EINVAL);
		return;
	default:
		r = below(5);
		r = bank_param_write(interest[r][0], interest[r][1]);
		break;
	}
	if (r == 0 || errno != EBUSY)
		fail("worker %d: a parameter for a closed device written while open: %s", me,
		     r ? strerror(errno) : "accepted");
	seen(C_PARAM, r < 0 ? errno : 0);
}

static void one_op(void)
{
	uint32_t r = below(100);

	if (r < 3) {
		reopen();
		return;
	}
	if (r < 6) {
		fd_flags ^= O_NONBLOCK;
		if (fcntl(fd, F_SETFL, fd_flags & O_NONBLOCK))
			fail("worker %d: fcntl: %s", me, strerror(errno));
		return;
	}
	if (r < 8) {
		op_param();
		return;
	}
	enter();
	if (r < 9)
		op_set_balance();
	else if (r < 28)
		op_depwd(false);
	else if (r < 48)
		op_depwd(true);
	else if (r < 60)
		op_batch();
	else if (r < 75)
		op_transfer();
	else if (r < 90)
		op_getters();
	else if (r < 96)
		op_other();
	else
		op_read();
	leave();
}

static void worker(int idx)
{
	struct sigaction sa;

	me = idx;
	rng = splitmix(sh->seed * 1000003u + (uint64_t)idx) | 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: a blocked call gets EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	map_memory();
	slot()->pid = getpid();
	slot()->is32 = sizeof(void *) == 4;
	reopen();
	while (!atomic_load(&sh->stop) && now_ns() < sh->deadline_ns &&
	       (!sh->max_ops || slot()->ops < sh->max_ops)) {
		one_op();
		slot()->ops++;
	}
	close(fd);
}

/* ---- the parent: barriers, checks, the report ---- */

static int ctl = -1;

static void stats(struct bank_stats *st)
{
	if (ioctl(ctl, BANK_IOC_GET_STATS, st))
		fail("checker: GET_STATS: %s", strerror(errno));
}

static void accounts(struct bank_accounts *all)
{
	memset(all, 0, sizeof(*all));
	if (ioctl(ctl, BANK_IOC_GET_ACCOUNTS, all))
		fail("checker: GET_ACCOUNTS: %s", strerror(errno));
}

/* Stop every worker at the barrier: signals end blocked withdrawals. */
static void quiesce(void)
{
	int i, spins = 0;

	atomic_store(&sh->writer, 1);
	while (atomic_load(&sh->readers)) {
		usleep(1000);
		if (++spins % 20 == 0)
			for (i = 0; i < sh->nworkers; i++)
				if (sh->w[i].pid)
					kill(sh->w[i].pid, SIGUSR1);
		if (spins > 60000) {
			fail("checker: workers never reached the barrier");
			break;
		}
	}
}

static void resume(void)
{
	atomic_store(&sh->writer, 0);
}

/* A SET_BALANCE nobody races: account 0's ledger starts again from it. */
static void fenced_set(int64_t v)
{
	int i;

	if (ioctl(ctl, BANK_IOC_SET_BALANCE, &v)) {
		fail("checker: SET_BALANCE: %s", strerror(errno));
		return;
	}
	sh->base[0] = v;
	sh->mark_delta0 = sh->mark_dep = sh->mark_wd = 0;
	for (i = 0; i < sh->nworkers; i++) {
		sh->mark_delta0 += sh->w[i].delta[0];
		sh->mark_dep += sh->w[i].deposits;
		sh->mark_wd += sh->w[i].withdrawals;
	}
	atomic_store(&sh->dirty, 0);
}

/* At a barrier: the device against the ledger. */
static void check(const char *when)
{
	struct bank_accounts all;
	struct bank_stats st;
	uint64_t want[BANK_ACCOUNTS_MAX], dep = 0, wd = 0, sum = 0, wsum = 0, xo = 0;
	int i, a, n = sh->naccounts;

	stats(&st);
	accounts(&all);
	if (sh->doctor == DOC_BALANCE)
		st.balance++;
	if (sh->mode == BANK_LOCK_NONE)
		return;
	sh->checks++;
	if (!atomic_load(&sh->dirty))
		sh->checks0++;
	for (a = 0; a < n; a++)
		want[a] = (uint64_t)sh->base[a];
	for (i = 0; i < sh->nworkers; i++) {
		for (a = 0; a < n; a++)
			want[a] += sh->w[i].delta[a];
		dep += sh->w[i].deposits;
		wd += sh->w[i].withdrawals;
		xo += sh->w[i].atomic_xfer_overflow;
	}
	want[0] -= sh->mark_delta0;
	dep -= sh->mark_dep;
	wd -= sh->mark_wd;
	if (sh->doctor == DOC_LEDGER)
		want[1 % n]++;

	if (st.balance < 0 || st.balance != st.expected)
		fail("%s: balance %" PRId64 " expected %" PRId64, when,
		     (int64_t)st.balance, (int64_t)st.expected);
	if (all.balances[0] != st.balance && !sh->doctor)
		fail("%s: GET_ACCOUNTS says %" PRId64 ", GET_STATS %" PRId64, when,
		     (int64_t)all.balances[0], (int64_t)st.balance);
	if (all.deposits != st.deposits || all.withdrawals != st.withdrawals)
		fail("%s: the counters of GET_ACCOUNTS and GET_STATS differ", when);
	/*
	 * Mode atomic: a transfer whose second step overflows undoes the
	 * first, and the comment on bank_transfer_atomic() (module/accounts.c)
	 * says that the undo may itself overflow, leaving the money moved.
	 * Only then is the ledger allowed to be off, and only as a note.
	 */
	for (a = 0; a < n; a++) {
		if (a == 0 && atomic_load(&sh->dirty))
			continue;
		if (a == 0 && (uint64_t)st.balance != want[0])
			goto off;
		if (a && (uint64_t)all.balances[a] != want[a])
			goto off;
		if (all.balances[a] < 0)
			fail("%s: account %d is %" PRId64, when, a, (int64_t)all.balances[a]);
		sum += (uint64_t)all.balances[a];
		wsum += want[a];
		continue;
off:
		if (xo && sh->mode == BANK_LOCK_ATOMIC && !sh->doctor) {
			printf("# note: %s: account %d off the ledger after %" PRIu64
			       " atomic transfers that overflowed (documented)\n", when, a, xo);
			return;
		}
		fail("%s: account %d: balance %" PRId64 ", the ledger says %" PRId64,
		     when, a, a ? (int64_t)all.balances[a] : (int64_t)st.balance,
		     (int64_t)want[a]);
		return;
	}
	if (sum != wsum)
		fail("%s: money not conserved: %" PRIu64 " != %" PRIu64, when, sum, wsum);
	if (!atomic_load(&sh->dirty) && (st.deposits != dep || st.withdrawals != wd))
		fail("%s: counters %" PRIu64 "/%" PRIu64 ", the ledger says %" PRIu64 "/%" PRIu64,
		     when, (uint64_t)st.deposits, (uint64_t)st.withdrawals, dep, wd);
}

static char shm_path[64];
static const char *self;

static pid_t spawn(int idx, bool want32)
{
	char path[4096], ibuf[16];
	pid_t pid = fork();

	if (pid < 0)
		die_errno("fork");
	if (pid)
		return pid;
	if (want32) {
		snprintf(path, sizeof(path), "%.4000s32", self);
		snprintf(ibuf, sizeof(ibuf), "%d", idx);
		if (access(path, X_OK) == 0)
			execl(path, path, "-W", shm_path, "-i", ibuf, (char *)NULL);
	}
	worker(idx);
	_exit(0);
}

static int run(uint64_t seed, double seconds, int nworkers, uint64_t max_ops,
	       int doctor, bool quiet)
{
	struct bank_accounts all;
	struct bank_stats st;
	uint64_t start = now_ns(), calls = 0, next_check, dur;
	pid_t pids[MAXW];
	char lockname[16];
	int i, a, c, e, sfd, status, reached = 0, ndoc = 0;

	snprintf(shm_path, sizeof(shm_path), "/dev/shm/bank_fuzz.%d", getpid());
	sfd = open(shm_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (sfd < 0 || ftruncate(sfd, sizeof(*sh)))
		die_errno(shm_path);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
	if (sh == MAP_FAILED)
		die_errno("mmap");
	close(sfd);
	me = -1;
	rng = splitmix(seed) | 1;
	sh->seed = seed;
	sh->doctor = doctor;
	sh->nworkers = nworkers;
	sh->max_ops = max_ops;
	dur = (uint64_t)(seconds * 1e9);
	sh->deadline_ns = max_ops ? UINT64_MAX : start + dur;
	sh->race_until_ns = max_ops ? 0 : start + dur * 7 / 10;

	ctl = open(BANK_DEVICE, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		die_errno(BANK_DEVICE);
	stats(&st);
	sh->mode = (int)st.lock;
	accounts(&all);
	sh->naccounts = (int)all.count;
	for (a = 0; a < sh->naccounts; a++)
		sh->base[a] = all.balances[a];
	fenced_set(200);
	snprintf(lockname, sizeof(lockname), "%s", bank_lock_name(st.lock));
	if (!quiet)
		printf("# bank_fuzz: seed %" PRIu64 ", lock %s, %d accounts, %d workers%s, %s\n",
		       seed, lockname, sh->naccounts, nworkers,
		       nworkers > 1 ? " (the last 32-bit if built)" : "",
		       max_ops ? "replay" : "timed");

	for (i = 0; i < nworkers; i++)
		pids[i] = spawn(i, nworkers > 1 && i == nworkers - 1);

	next_check = now_ns() + 300000000u;
	while (!atomic_load(&sh->stop)) {
		uint64_t t = now_ns();
		int alive = 0;

		for (i = 0; i < nworkers; i++)
			if (pids[i] && waitpid(pids[i], &status, WNOHANG) == 0)
				alive++;
			else
				pids[i] = 0;
		if (!alive)
			break;
		usleep(2000 + below(8000));
		/* A signal now and then: blocked withdrawals end with EINTR. */
		if (sh->w[i = below(nworkers)].pid)
			kill(sh->w[i].pid, SIGUSR1);
		if (t > next_check && !max_ops) {
			quiesce();
			check("during the run");
			/* After the racing part, always: a clean last part. */
			if (below(2) || (atomic_load(&sh->dirty) && t > sh->race_until_ns))
				fenced_set(below(4) ? 100 + below(1000) : (int64_t)(rnd() >> 1));
			resume();
			next_check = now_ns() + 200000000u + below(300000000u);
		}
		if (!max_ops && t > sh->deadline_ns + 60000000000ull) {
			fail("workers still running 60 s past the deadline");
			break;
		}
	}
	atomic_store(&sh->stop, 1);
	resume();
	for (i = 0; i < nworkers; i++) {
		if (!pids[i])
			continue;
		kill(pids[i], SIGUSR1);
		waitpid(pids[i], &status, 0);
	}
	for (i = 0; i < nworkers; i++)
		if (!sh->w[i].pid)
			fail("worker %d never started", i);
	check("at the end");

	for (i = 0; i < nworkers; i++)
		calls += sh->w[i].calls;
	for (c = 0; c < NCMD; c++) {
		char line[512];
		int len = 0;

		for (e = 1; e < NERR; e++) {
			bool hit = false;

			for (i = 0; i < nworkers; i++)
				hit |= sh->w[i].seen[c][e];
			if (documented(c, e))
				ndoc++;
			if (hit && documented(c, e))
				reached++;
			if (documented(c, e) && !hit)
				len += snprintf(line + len, sizeof(line) - (size_t)len,
						" %s", strerrorname_np(e));
		}
		if (!quiet && len)
			printf("#   %s: not reached:%s\n", cmd_names[c], line);
	}
	dur = now_ns() - start;
	if (!quiet)
		printf("# %" PRIu64 " calls in %.1f s: %.0f calls/s; %d of %d documented (command, errno) pairs reached; %d ledger checks, %d with account 0 known, %d racing SET_BALANCE%s\n",
		       calls, (double)dur / 1e9, (double)calls / ((double)dur / 1e9),
		       reached, ndoc, sh->checks, sh->checks0,
		       atomic_load(&sh->racing_sets),
		       nworkers > 1 && sh->w[nworkers - 1].is32 ? "; one worker 32-bit" : "");
	/* A run that never compared account 0 with the ledger proves little. */
	if (sh->mode != BANK_LOCK_NONE && !sh->checks0)
		fail("no check of account 0 against the ledger");
	close(ctl);
	unlink(shm_path);
	return atomic_load(&sh->failed) ? 1 : 0;
}

/* ---- the fail-nth walk ---- */

struct state {
	struct bank_stats st;
	struct bank_accounts all;
};

static void snap(struct state *s)
{
	memset(s, 0, sizeof(*s));
	if (ioctl(ctl, BANK_IOC_GET_STATS, &s->st) ||
	    ioctl(ctl, BANK_IOC_GET_ACCOUNTS, &s->all))
		fail("fail-nth: snapshot: %s", strerror(errno));
}

static bool same(const struct state *a, const struct state *b)
{
	return a->st.balance == b->st.balance && a->st.expected == b->st.expected &&
	       a->st.deposits == b->st.deposits &&
	       a->st.withdrawals == b->st.withdrawals &&
	       !memcmp(a->all.balances, b->all.balances, sizeof(a->all.balances));
}

static int failnth_fd = -1;

static void failnth_set(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(failnth_fd, buf, (size_t)len, 0) != len)
		die_errno("write /proc/thread-self/fail-nth");
}

/* 1 if the fault set up was injected; resets fail-nth to 0. */
static int failnth_injected(void)
{
	char buf[16] = "";
	ssize_t r = pread(failnth_fd, buf, sizeof(buf) - 1, 0);

	/* Its own copy_from_user may take a fault still due: retry. */
	if (pwrite(failnth_fd, "0", 1, 0) != 1)
		failnth_set(0);
	/* The read's own copy_to_user may have been the one to fail. */
	return r > 0 && atoi(buf) == 0;
}

static void write_file(const char *path, const char *v)
{
	int f = open(path, O_WRONLY);

	if (f < 0 || write(f, v, strlen(v)) < 0)
		die_errno(path);
	close(f);
}

static int64_t batch_amounts[1024], set_value;

/* Make call @c once, with valid arguments: its errno. @delta: account 0. */
static int walk_call(int c, int64_t *delta, int64_t *delta1)
{
	static char readbuf[64];
	struct bank_op op = { .amount = 5 };
	struct bank_batch b = { .amounts = (uint64_t)(uintptr_t)batch_amounts };
	struct bank_transfer t = { .from = 0, .to = 1, .amount = 3 };
	struct bank_account a = { .id = 1 };
	struct bank_accounts all = { 0 };
	struct bank_stats st;
	int64_t v = 0;
	int r;

	*delta = *delta1 = 0;
	switch (c) {
	case C_DEPOSIT:
		*delta = 5;
		r = ioctl(ctl, BANK_IOC_DEPOSIT, &op);
		break;
	case C_WITHDRAW:
		*delta = -5;
		r = ioctl(ctl, BANK_IOC_WITHDRAW, &op);
		break;
	case C_GET_BALANCE:
		r = ioctl(ctl, BANK_IOC_GET_BALANCE, &v);
		break;
	case C_SET_BALANCE:
		v = set_value;
		r = ioctl(ctl, BANK_IOC_SET_BALANCE, &v);
		break;
	case C_GET_STATS:
		r = ioctl(ctl, BANK_IOC_GET_STATS, &st);
		break;
	case C_BATCH:
		/*
		 * 8 entries. Not more than a page: past that, kvmalloc falls
		 * back to vmalloc, whose failure the kernel reports with a
		 * stack dump (warn_alloc) that fails the kernel-log scan.
		 */
		b.count = 8;
		*delta = 4;
		r = ioctl(ctl, BANK_IOC_BATCH, &b);
		break;
	case C_TRANSFER:
		*delta = -3;
		*delta1 = 3;
		r = ioctl(ctl, BANK_IOC_TRANSFER, &t);
		break;
	case C_GET_ACCOUNT:
		r = ioctl(ctl, BANK_IOC_GET_ACCOUNT, &a);
		break;
	case C_GET_ACCOUNTS:
		r = ioctl(ctl, BANK_IOC_GET_ACCOUNTS, &all);
		break;
	default:
		r = read(ctl, readbuf, sizeof(readbuf)) < 0 ? -1 : 0;
		break;
	}
	return r < 0 ? errno : 0;
}

static int failnth_walk(void)
{
	static const int cmds[] = {
		C_DEPOSIT, C_WITHDRAW, C_GET_BALANCE, C_SET_BALANCE, C_GET_STATS,
		C_BATCH, C_TRANSFER, C_GET_ACCOUNT, C_GET_ACCOUNTS, C_READ,
	};
	static struct shm local;
	unsigned int i, n, points;
	int failed = 0;

	sh = &local;
	for (i = 0; i < 1024; i++)
		batch_amounts[i] = i % 2 ? -1 : 2;
	/* GFP_KERNEL allocations too, and no stack dump per injected fault. */
	write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N");
	write_file("/sys/kernel/debug/failslab/verbose", "0");
	write_file("/sys/kernel/debug/fail_usercopy/verbose", "0");
	failnth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	ctl = open(BANK_DEVICE, O_RDWR | O_CLOEXEC);
	if (failnth_fd < 0 || ctl < 0)
		die_errno("open fail-nth or " BANK_DEVICE);
	{
		int64_t start = 1000;

		if (ioctl(ctl, BANK_IOC_SET_BALANCE, &start))
			die_errno("SET_BALANCE");
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int c = cmds[i], err = 0;
		bool done = false;

		points = 0;
		for (n = 1; n < 10000 && !done; n++) {
			struct state before, after;
			int64_t d0, d1;
			int injected;

			snap(&before);
			set_value = before.st.balance;
			failnth_set(n);
			err = walk_call(c, &d0, &d1);
			injected = failnth_injected();
			snap(&after);
			if (!injected) {
				done = true;
				if (err) {
					printf("# FAIL: %s failed with %s, no fault injected\n",
					       cmd_names[c], strerror(err));
					failed = 1;
				}
				break;
			}
			points++;
			if (err && (!documented(c, err) || (err != EFAULT && err != ENOMEM))) {
				printf("# FAIL: %s, fault %u: %s (%d), not EFAULT or ENOMEM as documented\n",
				       cmd_names[c], n, strerror(err), err);
				failed = 1;
			}
			if (err && !same(&before, &after)) {
				printf("# FAIL: %s, fault %u: failed with %s but changed the state: balance %" PRId64 " -> %" PRId64 ", expected %" PRId64 " -> %" PRId64 "\n",
				       cmd_names[c], n, strerror(err),
				       (int64_t)before.st.balance, (int64_t)after.st.balance,
				       (int64_t)before.st.expected, (int64_t)after.st.expected);
				failed = 1;
			}
			if (!err && (after.st.balance != before.st.balance + d0 ||
				     after.all.balances[1] != before.all.balances[1] + d1 ||
				     after.st.balance != after.st.expected)) {
				printf("# FAIL: %s, fault %u: succeeded, but the balance went %" PRId64 " -> %" PRId64 "\n",
				       cmd_names[c], n, (int64_t)before.st.balance,
				       (int64_t)after.st.balance);
				failed = 1;
			}
		}
		if (!done) {
			printf("# FAIL: %s: still failing at fault %u\n", cmd_names[c], n);
			failed = 1;
		}
		printf("%s - fail-nth %s: %u fault points, each failed call documented and harmless\n",
		       failed ? "not ok" : "ok", cmd_names[c], points);
		fflush(stdout);
	}
	close(ctl);
	return failed || atomic_load(&sh->failed);
}

/* Shrink: the fewest operations of one worker that still fail. */
static void shrink(uint64_t seed, const char *lockname)
{
	uint64_t lo = 1, hi = 0, ops = 64, trial;
	char cmd[512];

	for (; ops <= 1u << 20; ops *= 4) {
		snprintf(cmd, sizeof(cmd), "%s -q -n 1 -s %" PRIu64 " -o %" PRIu64 " >/dev/null 2>&1",
			 self, seed, ops);
		if (system(cmd) != 0) {
			hi = ops;
			break;
		}
	}
	if (!hi) {
		printf("# replay: make fuzz SEED=%" PRIu64 " LOCKS=%s (one worker alone does not fail: a race)\n",
		       seed, lockname);
		return;
	}
	while (lo < hi) {
		trial = lo + (hi - lo) / 2;
		snprintf(cmd, sizeof(cmd), "%s -q -n 1 -s %" PRIu64 " -o %" PRIu64 " >/dev/null 2>&1",
			 self, seed, trial);
		if (system(cmd) != 0)
			hi = trial;
		else
			lo = trial + 1;
	}
	printf("# replay: make fuzz SEED=%" PRIu64 " LOCKS=%s WORKERS=1 OPS=%" PRIu64 " (shortest found)\n",
	       seed, lockname, hi);
}

int main(int argc, char **argv)
{
	uint64_t seed = (uint64_t)time(NULL), ops = 0;
	double seconds = 10;
	int opt, nworkers = 4, doctor = DOC_NONE, idx = -1, ret;
	const char *wpath = NULL;
	bool walk = false, quiet = false;
	int64_t v;

	static char exe[4000];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	set_progname(argv[0]);
	/* The 32-bit worker and the replays run next to this program. */
	self = argv[0];
	if (len > 0) {
		exe[len] = '\0';
		self = exe;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "s:t:n:o:D:FW:i:q")) != -1) {
		switch (opt) {
		case 's':
			if (!parse_s64(optarg, &v))
				die_usage("-s %s: not a number", optarg);
			seed = (uint64_t)v;
			break;
		case 't':
			if (!parse_seconds(optarg, &seconds))
				die_usage("-t %s: not a duration", optarg);
			break;
		case 'n':
			if (!parse_s64(optarg, &v) || v < 1 || v > MAXW)
				die_usage("-n %s: 1 to %d workers", optarg, MAXW);
			nworkers = (int)v;
			break;
		case 'o':
			if (!parse_s64(optarg, &v) || v < 1)
				die_usage("-o %s: a positive count", optarg);
			ops = (uint64_t)v;
			break;
		case 'D':
			doctor = !strcmp(optarg, "ledger") ? DOC_LEDGER :
				 !strcmp(optarg, "balance") ? DOC_BALANCE :
				 !strcmp(optarg, "errno") ? DOC_ERRNO : -1;
			if (doctor < 0)
				die_usage("-D %s: ledger, balance or errno", optarg);
			break;
		case 'F':
			walk = true;
			break;
		case 'W':
			wpath = optarg;
			break;
		case 'i':
			if (!parse_s64(optarg, &v) || v < 0 || v >= MAXW)
				die_usage("-i %s", optarg);
			idx = (int)v;
			break;
		case 'q':
			quiet = true;
			break;
		default:
			die_usage("unknown option");
		}
	}
	if (wpath) {
		int sfd = open(wpath, O_RDWR | O_CLOEXEC);

		if (sfd < 0 || idx < 0)
			die_errno(wpath);
		sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
		if (sh == MAP_FAILED)
			die_errno("mmap");
		worker(idx);
		return 0;
	}
	if (walk)
		return failnth_walk();
	ret = run(seed, seconds, nworkers, ops, doctor, quiet);
	if (ret && !quiet) {
		char lockname[16];

		snprintf(lockname, sizeof(lockname), "%s", bank_lock_name((uint32_t)sh->mode));
		printf("# FAIL: seed %" PRIu64 ": %s\n", seed, sh->failmsg);
		if (!doctor)
			shrink(seed, lockname);
	}
	return ret;
}
