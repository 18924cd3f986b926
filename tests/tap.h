/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small test harness in the spirit of the kernel's kselftest_harness.h:
 * tests register themselves with TEST(), each runs in its own process (its
 * own process group) under a timeout, and the results are printed as TAP.
 *
 *   TEST(name) { ... }              a test, 60 s timeout
 *   TEST_TIMEOUT(name, secs) { ... }
 *   EXPECT_EQ(a, b), EXPECT_TRUE(c), EXPECT_ERRNO(call, E)
 *                                   record a failure and go on
 *   ASSERT_EQ(a, b), ASSERT_TRUE(c), ASSERT_ERRNO(call, E)
 *                                   record a failure and end the test
 *   SKIP(fmt, ...)                  end the test as skipped, with a reason
 *   TH_LOG(fmt, ...)                a "#" comment line in the output
 *
 * tap_main(argc, argv) runs the tests whose names contain any argument
 * (all without one) and exits 0 only if none failed.
 */
#ifndef TAP_H
#define TAP_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct tap_test {
	const char *name;
	void (*fn)(void);
	unsigned int timeout;
	struct tap_test *next;
};

enum { TAP_PASS = 0, TAP_FAIL = 1, TAP_SKIP = 4 };

static struct tap_test *tap_first, **tap_last = &tap_first;
static int tap_test_failed;

static inline void tap_register(struct tap_test *t)
{
	*tap_last = t;
	tap_last = &t->next;
}

#define TEST_TIMEOUT(test_name, secs)					\
	static void test_name(void);					\
	static struct tap_test tap_##test_name = {			\
		.name = #test_name, .fn = test_name, .timeout = (secs),	\
	};								\
	__attribute__((constructor)) static void tap_reg_##test_name(void) \
	{								\
		tap_register(&tap_##test_name);				\
	}								\
	static void test_name(void)

#define TEST(test_name) TEST_TIMEOUT(test_name, 60)

#define TH_LOG(fmt, ...) \
	do { printf("#   " fmt "\n", ##__VA_ARGS__); fflush(stdout); } while (0)

#define SKIP(fmt, ...) \
	do { TH_LOG("SKIP: " fmt, ##__VA_ARGS__); exit(TAP_SKIP); } while (0)

#define TAP_CHECK_EQ(a, b, fatal)					\
	do {								\
		long long __a = (long long)(a), __b = (long long)(b);	\
		if (__a != __b) {					\
			TH_LOG("%s:%d: %s == %s: %lld != %lld", __FILE__, \
			       __LINE__, #a, #b, __a, __b);		\
			tap_test_failed = 1;				\
			if (fatal)					\
				exit(TAP_FAIL);				\
		}							\
	} while (0)

#define TAP_CHECK_TRUE(c, fatal)					\
	do {								\
		if (!(c)) {						\
			TH_LOG("%s:%d: %s is false", __FILE__, __LINE__, #c); \
			tap_test_failed = 1;				\
			if (fatal)					\
				exit(TAP_FAIL);				\
		}							\
	} while (0)

/* @call must fail (return -1) with errno @err. */
#define TAP_CHECK_ERRNO(call, err, fatal)				\
	do {								\
		errno = 0;						\
		long long __r = (long long)(call);			\
		int __e = errno;					\
		if (__r != -1 || __e != (err)) {			\
			TH_LOG("%s:%d: %s: returned %lld, errno %s; want -1, %s", \
			       __FILE__, __LINE__, #call, __r,		\
			       __e ? strerror(__e) : "0", strerror(err)); \
			tap_test_failed = 1;				\
			if (fatal)					\
				exit(TAP_FAIL);				\
		}							\
	} while (0)

#define EXPECT_EQ(a, b)		TAP_CHECK_EQ(a, b, 0)
#define ASSERT_EQ(a, b)		TAP_CHECK_EQ(a, b, 1)
#define EXPECT_TRUE(c)		TAP_CHECK_TRUE(c, 0)
#define ASSERT_TRUE(c)		TAP_CHECK_TRUE(c, 1)
#define EXPECT_ERRNO(call, err)	TAP_CHECK_ERRNO(call, err, 0)
#define ASSERT_ERRNO(call, err)	TAP_CHECK_ERRNO(call, err, 1)

static inline int tap_selected(const struct tap_test *t, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++)
		if (strstr(t->name, argv[i]))
			return 1;
	return 0;
}

/* Run one test in a child of its own; return TAP_PASS, TAP_FAIL or TAP_SKIP. */
static inline int tap_run(const struct tap_test *t, char *why, size_t len)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return TAP_FAIL;
	}
	if (pid == 0) {
		setpgid(0, 0);
		alarm(t->timeout);
		tap_test_failed = 0;
		t->fn();
		fflush(stdout);
		exit(tap_test_failed ? TAP_FAIL : TAP_PASS);
	}
	setpgid(pid, pid);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* Whatever the test left running goes with it. */
	kill(-pid, SIGKILL);
	while (waitpid(-pid, NULL, 0) > 0)
		;
	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGALRM)
			snprintf(why, len, "timed out after %u s", t->timeout);
		else
			snprintf(why, len, "killed by signal %d", WTERMSIG(status));
		return TAP_FAIL;
	}
	if (WEXITSTATUS(status) == TAP_SKIP)
		return TAP_SKIP;
	if (WEXITSTATUS(status) != TAP_PASS)
		return TAP_FAIL;
	return TAP_PASS;
}

static inline int tap_main(int argc, char **argv)
{
	int n = 0, i = 0, passed = 0, failed = 0, skipped = 0;
	const struct tap_test *t;
	char why[128];

	for (t = tap_first; t; t = t->next)
		n += tap_selected(t, argc, argv);
	printf("TAP version 13\n1..%d\n", n);
	for (t = tap_first; t; t = t->next) {
		if (!tap_selected(t, argc, argv))
			continue;
		i++;
		why[0] = '\0';
		switch (tap_run(t, why, sizeof(why))) {
		case TAP_PASS:
			printf("ok %d %s\n", i, t->name);
			passed++;
			break;
		case TAP_SKIP:
			printf("ok %d %s # SKIP\n", i, t->name);
			skipped++;
			break;
		default:
			printf("not ok %d %s%s%s\n", i, t->name,
			       why[0] ? " # " : "", why);
			failed++;
			break;
		}
		fflush(stdout);
	}
	printf("# %d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}

#endif /* TAP_H */
