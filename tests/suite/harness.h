/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The suite's test harness, in the shape of the kernel's
 * kselftest_harness.h: tests register themselves, each runs in a process
 * of its own (its own process group) under a time limit, and the results
 * are printed as TAP, one line per test and variant.
 *
 *   TEST(name) { ... }                    a test, 60 s
 *   TEST_TIMEOUT(name, secs) { ... }
 *
 *   FIXTURE(f);                           a set of variants, what differs
 *   FIXTURE_VARIANT(f) { fields };        between the runs of f's tests
 *   FIXTURE_VARIANT_ADD(f, v) { .field = ... };
 *   TEST_F(f, name) { ... }               runs once per variant of f, as
 *   TEST_F_TIMEOUT(f, name, secs) { ... } "name.v", with variant in scope
 *
 * Unlike kselftest's, a fixture holds no state and has no setup or
 * teardown: the state is the device, and each test puts it where it needs
 * it first. A failed ASSERT ends the test's process at once.
 *
 *   EXPECT_EQ(a, b), EXPECT_TRUE(c), EXPECT_ERRNO(call, E)
 *                                   record a failure and go on
 *   ASSERT_EQ(a, b), ASSERT_TRUE(c), ASSERT_ERRNO(call, E)
 *                                   record a failure and end the test
 *   TH_FAIL(fmt, ...)               record a failure, saying why
 *   SKIP(fmt, ...)                  end the test as skipped, with a reason
 *   TH_LOG(fmt, ...)                a "#" comment line in the output
 *
 * th_options() reads the command line (th_usage() says what it takes),
 * th_run_all() runs the tests it selected.
 */
#ifndef SUITE_HARNESS_H
#define SUITE_HARNESS_H

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct th_variant {
	const char *name;
	const void *data;
	struct th_variant *next;
};

struct th_fixture {
	struct th_variant *variants, **last;
};

struct th_test {
	const char *name;
	struct th_fixture *fixture;
	void (*run)(const void *variant);
	unsigned int timeout;
	struct th_test *next;
};

enum { TH_PASS = 0, TH_FAIL = 1, TH_SKIP = 4 };

static struct th_test *th_first, **th_last = &th_first;
static int th_failed;	/* the running test has failed a check */

#define TH_CONSTRUCTOR(fn) __attribute__((constructor)) static void fn(void)

#define FIXTURE_VARIANT(f) struct th_vdata_##f

#define FIXTURE(f)							\
	FIXTURE_VARIANT(f);						\
	static struct th_fixture th_fixture_##f = {			\
		.last = &th_fixture_##f.variants,			\
	}

#define FIXTURE_VARIANT_ADD(f, v)					\
	static const FIXTURE_VARIANT(f) th_vdata_##f##_##v;		\
	static struct th_variant th_variant_##f##_##v = {		\
		.name = #v, .data = &th_vdata_##f##_##v,		\
	};								\
	TH_CONSTRUCTOR(th_reg_variant_##f##_##v)			\
	{								\
		*th_fixture_##f.last = &th_variant_##f##_##v;		\
		th_fixture_##f.last = &th_variant_##f##_##v.next;	\
	}								\
	static const FIXTURE_VARIANT(f) th_vdata_##f##_##v =

/* The body gets its variant typed; the harness calls it untyped. */
#define TEST_F_TIMEOUT(f, t, secs)					\
	static void th_body_##t(const FIXTURE_VARIANT(f) *variant);	\
	static void th_run_##t(const void *variant)			\
	{								\
		th_body_##t(variant);					\
	}								\
	static struct th_test th_test_##t = {				\
		.name = #t, .fixture = &th_fixture_##f,			\
		.run = th_run_##t, .timeout = (secs),			\
	};								\
	TH_CONSTRUCTOR(th_reg_##t)					\
	{								\
		*th_last = &th_test_##t;				\
		th_last = &th_test_##t.next;				\
	}								\
	static void th_body_##t(const FIXTURE_VARIANT(f) *variant	\
				__attribute__((unused)))

#define TEST_F(f, t) TEST_F_TIMEOUT(f, t, 60)

/* A test without variants: the fixture of them all, which has none. */
FIXTURE(th_global);
#define TEST_TIMEOUT(t, secs) TEST_F_TIMEOUT(th_global, t, secs)
#define TEST(t) TEST_TIMEOUT(t, 60)

#define TH_LOG(fmt, ...) \
	do { printf("#   " fmt "\n", ##__VA_ARGS__); fflush(stdout); } while (0)

#define TH_FAIL(fmt, ...) \
	do { TH_LOG(fmt, ##__VA_ARGS__); th_failed = 1; } while (0)

#define SKIP(fmt, ...) \
	do { TH_LOG("SKIP: " fmt, ##__VA_ARGS__); exit(TH_SKIP); } while (0)

#define TH_CHECK(ok, fatal, fmt, ...)					\
	do {								\
		if (!(ok)) {						\
			TH_FAIL("%s:%d: " fmt, __FILE__, __LINE__, __VA_ARGS__); \
			if (fatal)					\
				exit(TH_FAIL);				\
		}							\
	} while (0)

#define TH_CHECK_EQ(a, b, fatal)					\
	do {								\
		long long th_a = (long long)(a), th_b = (long long)(b);	\
		TH_CHECK(th_a == th_b, fatal, "%s == %s: %lld != %lld",	\
			 #a, #b, th_a, th_b);				\
	} while (0)

#define TH_CHECK_TRUE(c, fatal) TH_CHECK(c, fatal, "%s is false", #c)

/* @call must fail (return -1) with errno @err. */
#define TH_CHECK_ERRNO(call, err, fatal)				\
	do {								\
		errno = 0;						\
		long long th_r = (long long)(call);			\
		int th_e = errno;					\
		TH_CHECK(th_r == -1 && th_e == (err), fatal,		\
			 "%s: returned %lld, errno %s; want -1, %s", #call, \
			 th_r, th_e ? strerror(th_e) : "0", strerror(err)); \
	} while (0)

#define EXPECT_EQ(a, b)		TH_CHECK_EQ(a, b, 0)
#define ASSERT_EQ(a, b)		TH_CHECK_EQ(a, b, 1)
#define EXPECT_TRUE(c)		TH_CHECK_TRUE(c, 0)
#define ASSERT_TRUE(c)		TH_CHECK_TRUE(c, 1)
#define EXPECT_ERRNO(call, err)	TH_CHECK_ERRNO(call, err, 0)
#define ASSERT_ERRNO(call, err)	TH_CHECK_ERRNO(call, err, 1)

static int th_more;

/* Every run of every test: one per variant of its fixture, or one. */
#define th_for_each_run(t, v)						\
	for (t = th_first; t; t = t->next)				\
		for (v = t->fixture->variants, th_more = 1; th_more;	\
		     th_more = v && (v = v->next))

/* "test.variant", or "test": what the output and the NAMEs go by. */
static inline const char *th_name(const struct th_test *t,
				  const struct th_variant *v)
{
	static char name[256];

	snprintf(name, sizeof(name), "%s%s%s", t->name, v ? "." : "",
		 v ? v->name : "");
	return name;
}

static inline int th_selected(const char *name, int n, char **names)
{
	int i;

	for (i = 0; i < n; i++)
		if (strstr(name, names[i]))
			return 1;
	return n == 0;
}

/* One run in a child of its own: TH_PASS, TH_FAIL (why says how), TH_SKIP. */
static inline int th_run(const struct th_test *t, const struct th_variant *v,
			 char *why, size_t len)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return TH_FAIL;
	}
	if (pid == 0) {
		setpgid(0, 0);
		alarm(t->timeout);
		th_failed = 0;
		t->run(v ? v->data : NULL);
		fflush(stdout);
		exit(th_failed ? TH_FAIL : TH_PASS);
	}
	setpgid(pid, pid);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Whatever the test left running goes with it. */
	kill(-pid, SIGKILL);
	while (waitpid(-pid, NULL, 0) > 0)
		;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		snprintf(why, len, "timed out after %u s", t->timeout);
	else if (WIFSIGNALED(status))
		snprintf(why, len, "killed by signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status) == TH_SKIP || WEXITSTATUS(status) == TH_PASS)
		return WEXITSTATUS(status);
	return TH_FAIL;
}

/* Run the selected tests as TAP; 0 if none failed, else 1. */
static inline int th_run_all(int n, char **names)
{
	int total = 0, i = 0, passed = 0, failed = 0, skipped = 0;
	const struct th_variant *v;
	const struct th_test *t;
	char why[128];

	th_for_each_run(t, v)
		total += th_selected(th_name(t, v), n, names);
	printf("TAP version 13\n1..%d\n", total);
	th_for_each_run(t, v) {
		if (!th_selected(th_name(t, v), n, names))
			continue;
		why[0] = '\0';
		switch (th_run(t, v, why, sizeof(why))) {
		case TH_PASS:
			printf("ok %d %s\n", ++i, th_name(t, v));
			passed++;
			break;
		case TH_SKIP:
			printf("ok %d %s # SKIP\n", ++i, th_name(t, v));
			skipped++;
			break;
		default:
			printf("not ok %d %s%s%s\n", ++i, th_name(t, v),
			       why[0] ? " # " : "", why);
			failed++;
		}
		fflush(stdout);
	}
	printf("# %d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}

static inline void th_usage(FILE *f, const char *prog, const char *what)
{
	fprintf(f, "Usage: %s [-l] [NAME...]\n%s\n\n"
		"Runs the tests whose names (test or test.variant: one per lock\n"
		"mode) contain one of the NAMEs, all without one, each in a\n"
		"process of its own under its time limit, and prints TAP.\n"
		"  -l, --list  print the names of the selected tests, run none\n"
		"  -h, --help  this text\n"
		"Exit status: 0 no test failed, 1 a test failed (or none could\n"
		"run), 2 bad usage or no test named like a NAME.\n", prog, what);
}

/*
 * The options of a test program: returns the index of the first NAME in
 * argv; --help and --list end the program here, as does bad usage (2).
 */
static inline int th_options(int argc, char **argv, const char *what)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "list", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const struct th_variant *v;
	const struct th_test *t;
	int opt, list = 0, n, found = 0;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "hl", longopts, NULL)) != -1) {
		if (opt == 'h') {
			th_usage(stdout, prog, what);
			exit(0);
		} else if (opt == 'l') {
			list = 1;
		} else {
			fprintf(stderr, "%s: unknown option %s (--help)\n", prog,
				argv[optind - 1]);
			exit(2);
		}
	}
	n = argc - optind;
	th_for_each_run(t, v) {
		if (!th_selected(th_name(t, v), n, argv + optind))
			continue;
		found = 1;
		if (list)
			printf("%s\n", th_name(t, v));
	}
	if (list)
		exit(0);
	if (!found) {
		fprintf(stderr, "%s: no test is named like that (%s --list)\n",
			prog, prog);
		exit(2);
	}
	return optind;
}

#endif /* SUITE_HARNESS_H */
