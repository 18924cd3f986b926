// SPDX-License-Identifier: GPL-2.0
/*
 * suite-trace: the trace events: their fields, the spinlock's queue seen in
 * a trace, the reader's invariant in every mode, the timeline, trace-cmd and
 * perf lock contention.
 *
 * suite-trace --help: how to run it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define TRACEFS "/sys/kernel/tracing"

static void need_bank_events(void)
{
	if (access(TRACEFS "/events/bank", F_OK) != 0)
		SKIP("no bank events in %s (kernel without tracepoints?)", TRACEFS);
}

/*
 * For the tests that switch events on and off. Each switch patches the
 * kernel's code live (static calls, int3); under QEMU's emulation, Debian's
 * 6.12 once took an int3 Oops in __schedule() doing it, in the matrix. So
 * only the VM of make check switches events (KBANK_KERNEL is set by the
 * harness); the other kernels check the events and their fields.
 */
static void need_event_switching(void)
{
	const char *k = getenv("KBANK_KERNEL");

	need_bank_events();
	if (k && strcmp(k, "stock") && strcmp(k, "6.1"))
		SKIP("events are switched on and off only in make check's VM, not on %s", k);
}

/* The reader runs in the host's python3; the guest has none of its own. */
static void need_reader(void)
{
	if (!getenv("KBANK_REPO") || access("/host/usr/bin/python3", X_OK) != 0)
		SKIP("no host python3 over 9p in this VM");
}

/*
 * Mode spinlock, delay_us=1000, 16 processes: at most two tasks are ever
 * at the spinlock (bank_spin_slots), one holding and one spinning, so none
 * spins longer than one holder's section, however many CPUs wait. Read
 * from the trace: the tasks between their bank_lock_wait and their
 * bank_lock_acquired. That count can reach 2 with one spinner: the task
 * that has just got the lock traces bank_lock_acquired a moment after the
 * next in line traces its bank_lock_wait. Without the queue, every other
 * CPU spins: up to 7 here. Needs more than 2 CPUs to mean anything (the
 * harness boots an 8-CPU VM for it).
 */
TEST_TIMEOUT(spinlock_one_spinner_at_a_time, 180)
{
	int spinning = 0, most = 0, cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	static double since[1 << 16];
	double longest = 0, spin;
	long spins = 0, over = 0;
	char line[512];
	FILE *f;

	need_event_switching();
	if (cpus < 3)
		SKIP("%d CPUs: with 2, only one task can spin anyway", cpus);
	setup("spinlock", 1000000);
	ASSERT_EQ(bank_param_write("delay_us", "1000"), 0);
	ASSERT_EQ(run("echo 0 > " TRACEFS "/tracing_on && echo > " TRACEFS "/trace && "
		      "echo 1 > " TRACEFS "/events/bank/bank_lock_wait/enable && "
		      "echo 1 > " TRACEFS "/events/bank/bank_lock_acquired/enable && "
		      "echo 1 > " TRACEFS "/tracing_on"), 0);
	hammer(16, 40, 1);
	ASSERT_EQ(run("echo 0 > " TRACEFS "/tracing_on && "
		      "echo 0 > " TRACEFS "/events/bank/enable"), 0);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
	f = fopen(TRACEFS "/trace", "r");
	ASSERT_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		/* "comm-pid [cpu] ...": comm may hold dashes, pid none. */
		char *dash = strstr(line, " ["), *ev;
		double ts;
		int pid;

		if (line[0] == '#' || !dash)
			continue;
		while (dash > line && *dash != '-')
			dash--;
		ev = strstr(line, ": bank_lock_");
		if (!ev || sscanf(dash + 1, "%d", &pid) != 1)
			continue;
		/* the timestamp is the field before ": bank_lock_" */
		*ev = '\0';
		ts = atof(strrchr(line, ' ') + 1);
		pid &= (1 << 16) - 1;
		if (!strncmp(ev + 2, "bank_lock_wait", 14)) {
			since[pid] = ts;
			if (++spinning > most)
				most = spinning;
		} else {
			spin = since[pid] > 0 ? ts - since[pid] : 0;
			spins++;
			over += spin > 0.0021;	/* two holds and a margin */
			if (spin > longest)
				longest = spin;
			since[pid] = 0;
			spinning--;
		}
	}
	fclose(f);
	TH_LOG("%d CPUs, 16 processes, holders 1000 us: at most %d spinning at once; "
	       "%ld spins, %ld longer than 2.1 ms, the longest %.0f us", cpus, most,
	       spins, over, longest * 1e6);
	EXPECT_TRUE(most >= 1);
	EXPECT_TRUE(most <= 2);
}

TEST(trace_events_exist_with_fields)
{
	static const char *const want[][5] = {
		{ "bank_update_begin", "s64 amount;", "int mode;" },
		{ "bank_lock_wait", "int mode;" },
		{ "bank_lock_acquired", "int mode;" },
		{ "bank_read", "s64 balance;", "s64 amount;", "int mode;" },
		{ "bank_write", "s64 old;", "s64 balance;", "s64 amount;", "int mode;" },
		{ "bank_cas_retry", "s64 expected;", "s64 found;", "unsigned int try;" },
		{ "bank_update_end", "int ret;" },
		{ "bank_funds_wait", "s64 need;", "s64 balance;" },
		{ "bank_funds_woken", "s64 need;", "s64 balance;", "int ret;" },
		{ "bank_reset", "s64 balance;", "int mode;" },
		{ "bank_snapshot", "s64 balance;", "s64 expected;" },
	};
	char path[256], fmt[4096];
	unsigned int i, j;
	size_t n;
	FILE *f;

	need_bank_events();
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(path, sizeof(path), TRACEFS "/events/bank/%s/format", want[i][0]);
		f = fopen(path, "r");
		EXPECT_TRUE(f != NULL);
		if (!f)
			continue;
		n = fread(fmt, 1, sizeof(fmt) - 1, f);
		fmt[n] = '\0';
		fclose(f);
		for (j = 1; j < 5 && want[i][j]; j++) {
			char field[64];

			snprintf(field, sizeof(field), "field:%s", want[i][j]);
			if (!strstr(fmt, field))
				TH_FAIL("%s: no '%s'", want[i][0], field);
		}
	}
	/* The kernel's own events that the timeline uses beside bank's. */
	EXPECT_EQ(access(TRACEFS "/events/sched/sched_switch", F_OK), 0);
	/* lock:contention_begin and _end came with Linux 5.19. */
	if (kernel_at_least(5, 19))
		EXPECT_EQ(access(TRACEFS "/events/lock/contention_begin", F_OK), 0);
	else
		TH_LOG("lock:contention_begin: not before 5.19, not checked");
}

/*
 * @procs processes race @ops updates each, process k alternating deposits
 * of k + 1 and withdrawals of 1: lost deposits and lost withdrawals do not
 * cancel out, so expected - balance tells how much was lost.
 */
static void race_amounts(int procs, long ops)
{
	int i, status;

	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		ASSERT_TRUE(pid >= 0);
		if (pid == 0) {
			int fd = dev_open(O_RDWR);
			long j;

			for (j = 0; j < ops; j++)
				if (op(fd, (j & 1) ? BANK_IOC_WITHDRAW : BANK_IOC_DEPOSIT,
				       (j & 1) ? 1 : i + 1, NULL))
					_exit(1);
			_exit(0);
		}
	}
	for (i = 0; i < procs; i++) {
		ASSERT_TRUE(wait(&status) > 0);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}

/* Run the reader on @trace (a guest file) with @args; its output in @out. */
static int reader(const char *args, const char *trace, const char *out)
{
	char cmd[PATH_MAX + 512];

	snprintf(cmd, sizeof(cmd),
		 "chroot /host /usr/bin/python3 %s/userspace/python/bank_trace.py %s - <%s >%s 2>&1",
		 getenv("KBANK_REPO"), args, trace, out);
	return run(cmd);
}

/*
 * The invariant: over a racy run in mode none, the amounts of the updates
 * the reader finds lost add up to expected - balance exactly, and in every
 * locked mode it finds none. The reader checks against the snapshot in the
 * trace; this test checks against the counters it reads itself.
 */
TEST_F_TIMEOUT(lock_mode, trace_reader_invariant, 600)
{
	const char *trace = "/tmp/bank-trace-all.txt", *out = "/tmp/bank-trace-lost.txt";
	long long want, updates = 0;
	struct bank_stats st;
	char line[512];
	unsigned int runs = 0;
	FILE *f;

	need_event_switching();
	need_reader();
	ASSERT_EQ(run("/kbank/guest/banktrace.sh start"), 0);
	setup(variant->lock, 1000000);
	/* delay_us=10: a window for the race, and for lost CASes. */
	ASSERT_EQ(bank_param_write("delay_us", "10"), 0);
	race_amounts(4, 500);
	st = get_stats();
	want = st.expected - st.balance;
	TH_LOG("%-8s 4 x 500 ops: expected - balance = %lld", variant->lock, want);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
	/* Fails if any event was lost: the buffers must hold the whole run. */
	ASSERT_EQ(run("/kbank/guest/banktrace.sh stop /tmp/bank-trace-all.txt"), 0);
	EXPECT_EQ(reader("lost -n 0", trace, out), 0);

	f = fopen(out, "r");
	ASSERT_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		char lock[16], verdict[16];
		long long u, lost, sum, diff, byval;

		fputs("#   ", stdout);
		fputs(line, stdout);
		if (sscanf(line, "run %*u lock=%15s updates=%lld lost=%lld lost_sum=%lld expected-balance=%lld resolved_by_value=%lld %15s",
			   lock, &u, &lost, &sum, &diff, &byval, verdict) != 7)
			continue;
		/* The setup's own reset carries no update: only the race's run. */
		ASSERT_TRUE(runs < 1);
		EXPECT_TRUE(strcmp(lock, variant->lock) == 0);
		EXPECT_EQ(u, 2000);
		EXPECT_EQ(sum, want);
		EXPECT_EQ(diff, want);
		EXPECT_TRUE(strcmp(verdict, "ok") == 0);
		if (strcmp(variant->lock, "none") == 0)
			EXPECT_TRUE(lost > 0);	/* else the race proved nothing */
		else
			EXPECT_EQ(lost, 0);
		updates += u;
		runs++;
	}
	fclose(f);
	EXPECT_EQ(runs, 1);
	TH_LOG("the reader rebuilt %lld updates", updates);
}

TEST_TIMEOUT(trace_timeline_renders, 300)
{
	const char *trace = "/tmp/bank-trace-none.txt", *out = "/tmp/bank-trace-timeline.txt";
	char line[512], svg[256] = "";
	int lines = 0, caption = 0;
	FILE *f;

	need_event_switching();
	need_reader();
	/* Started first: the reader needs the run's bank_reset. */
	ASSERT_EQ(run("/kbank/guest/banktrace.sh start"), 0);
	setup("none", 1000);
	ASSERT_EQ(bank_param_write("delay_us", "20"), 0);
	race_amounts(4, 200);
	TH_LOG("expected - balance = %lld", get_stats().expected - get_stats().balance);
	ASSERT_EQ(run("/kbank/guest/banktrace.sh stop /tmp/bank-trace-none.txt"), 0);
	ASSERT_EQ(bank_param_write("delay_us", "0"), 0);
	/* /dev/shm: the guest's tmpfs, writable from inside the chroot too. */
	unlink("/dev/shm/bank-timeline.svg");
	EXPECT_EQ(reader("timeline --svg /dev/shm/bank-timeline.svg", trace, out), 0);
	f = fopen(out, "r");
	ASSERT_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		fputs("#   ", stdout);
		fputs(line, stdout);
		lines++;
		EXPECT_TRUE(strlen(line) <= 81);	/* 80 columns and '\n' */
		caption |= strstr(line, "is lost") != NULL;
	}
	fclose(f);
	EXPECT_TRUE(lines >= 5);
	EXPECT_TRUE(caption);
	f = fopen("/dev/shm/bank-timeline.svg", "r");
	ASSERT_TRUE(f != NULL);
	EXPECT_TRUE(fgets(svg, sizeof(svg), f) && strncmp(svg, "<svg", 4) == 0);
	fclose(f);
}

TEST_TIMEOUT(trace_cmd_records_and_reports_bank_events, 300)
{
	char cmd[PATH_MAX + 256];
	int try;

	need_event_switching();
	if (access("/host/usr/bin/trace-cmd", X_OK) != 0)
		SKIP("no trace-cmd on the host (scripts/targets/setup.sh installs it)");
	/* The chroot sees the guest's /dev, so /dev/shm holds the program too. */
	snprintf(cmd, sizeof(cmd), "cp %s /dev/shm/deposit", prog("deposit"));
	ASSERT_EQ(run(cmd), 0);
	/*
	 * trace-cmd record's recorder threads saved nothing ("0 bytes") in
	 * about one run in four under emulation, hence start/stop/extract
	 * below; up to three tries all the same, each failed one logged.
	 */
	for (try = 1; try <= 3; try++) {
		setup("mutex", 100);
		/*
		 * start, run, stop, extract: the events wait in the kernel's
		 * ring buffer, with no recorder thread that could miss them.
		 */
		EXPECT_EQ(run("chroot /host trace-cmd start -C mono -e bank >/dev/null 2>&1 && "
			      "/dev/shm/deposit -q -n 5 -s 0 && chroot /host trace-cmd stop && "
			      "chroot /host trace-cmd extract -o /dev/shm/bank.dat 2>&1 | "
			      "tail -n 2 | sed 's/^/#   extract: /'; chroot /host trace-cmd reset "
			      ">/dev/null 2>&1"), 0);
		EXPECT_EQ(run("chroot /host trace-cmd report -i /dev/shm/bank.dat >/tmp/bank-report.txt"), 0);
		if (run("test $(grep -c 'bank_read:' /tmp/bank-report.txt) = 5") == 0)
			break;
		TH_LOG("try %d: trace-cmd's report has no 5 bank_read events", try);
	}
	EXPECT_EQ(run("grep -m 3 bank_ /tmp/bank-report.txt | sed 's/^/#   /' || head -n 5 /tmp/bank-report.txt | sed 's/^/#   report: /'"), 0);
	EXPECT_EQ(run("test $(grep -c 'bank_write: *old=10[0-9] balance=10[0-9] amount=1 lock=mutex' /tmp/bank-report.txt) = 5"), 0);
	EXPECT_EQ(run("test $(grep -c 'bank_read:' /tmp/bank-report.txt) = 5"), 0);
	EXPECT_EQ(get_balance(), 105);
}

/*
 * perf lock contention (the README shows it) reads the kernel's own
 * lock:contention_begin/end, and must name bank's code as the waiter. It
 * can see no more mutex waits than bank counted (a trylock that fails and
 * then finds the mutex free is contended for bank, no wait for perf).
 */
TEST_TIMEOUT(perf_lock_contention_names_bank_mutex_waits, 300)
{
	char cmd[2 * PATH_MAX + 256];
	long perf_waits = -1;
	struct bank_stats st;
	FILE *f;

	need_event_switching();
	if (access("/host/usr/bin/perf", X_OK) != 0)
		SKIP("no perf in the host's root over 9p (scripts/targets/setup.sh installs linux-perf)");
	snprintf(cmd, sizeof(cmd), "cp %s /dev/shm/deposit", prog("deposit"));
	ASSERT_EQ(run(cmd), 0);
	snprintf(cmd, sizeof(cmd), "cp %s /dev/shm/withdraw", prog("withdraw"));
	ASSERT_EQ(run(cmd), 0);
	setup("mutex", 1000);
	ASSERT_EQ(bank_param_write("delay_us", "100"), 0);
	EXPECT_EQ(run("chroot /host perf lock record -q -o /dev/shm/perf.data -- /bin/sh -c "
		      "'/dev/shm/deposit -q -n 200 -s 0 & /dev/shm/withdraw -q -n 200 -s 0 & wait' "
		      "2>&1 | sed 's/^/#   record: /'"), 0);
	st = get_stats();
	/*
	 * Rows "contended ... type caller" (perf 6.1 prints them on stderr);
	 * the callers in bank's updates (not bank_open(): bank_open_lock's
	 * waits are no "contended" count).
	 */
	f = popen("chroot /host perf lock contention -i /dev/shm/perf.data --stack-skip 0 -E 1000 "
		  "2>&1 | awk '$NF ~ /^bank_update/ { n += $1 } END { print n + 0 }'", "r");
	ASSERT_TRUE(f != NULL);
	EXPECT_EQ(fscanf(f, "%ld", &perf_waits), 1);
	pclose(f);
	TH_LOG("bank counted %llu contended, perf lock contention %ld waits in bank_update*",
	       (unsigned long long)st.contended, perf_waits);
	EXPECT_EQ(st.balance, 1000);
	EXPECT_TRUE(perf_waits > 0);
	EXPECT_TRUE(perf_waits <= (long)st.contended);
	run("rm -f /dev/shm/perf.data /dev/shm/deposit /dev/shm/withdraw");
}

SUITE_MAIN("suite-trace: the trace events and their readers.")
