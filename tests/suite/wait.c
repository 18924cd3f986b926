// SPDX-License-Identifier: GPL-2.0
/*
 * suite-wait: the wait for funds: a withdrawal of more than there is fails
 * at once with O_NONBLOCK, else sleeps until a deposit or a reset completes
 * it, or a signal ends it.
 *
 * suite-wait --help: how to run it.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

TEST_F(lock_mode, nonblock_withdraw_eagain)
{
	struct bank_stats before;
	int fd;

	setup(variant->lock, 200);
	before = get_stats();
	fd = dev_open(O_RDWR | O_NONBLOCK);
	EXPECT_EQ(op(fd, BANK_IOC_WITHDRAW, 201, NULL), EAGAIN);
	EXPECT_EQ(op(fd, BANK_IOC_WITHDRAW, INT64_MAX, NULL), EAGAIN);
	close(fd);
	expect_unchanged(&before);
	EXPECT_EQ(get_stats().waits, 0);
}

/* A child that withdraws @amount, blocking; its exit code is the errno. */
static pid_t blocked_withdrawer(int64_t amount)
{
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		int fd = dev_open(O_RDWR);

		_exit(op(fd, BANK_IOC_WITHDRAW, amount, NULL));
	}
	return pid;
}

static int child_exit_code(pid_t pid)
{
	int status;

	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	return WEXITSTATUS(status);
}

TEST_F(lock_mode, blocking_withdraw_woken_by_deposit)
{
	pid_t pid;
	int64_t b = -1;
	int fd;

	setup(variant->lock, 200);
	pid = blocked_withdrawer(300);
	wait_for_waiters(1);
	EXPECT_EQ(get_balance(), 200);
	EXPECT_EQ(waitpid(pid, NULL, WNOHANG), 0);
	fd = dev_open(O_RDWR);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 50, &b), 0);
	EXPECT_EQ(b, 250);
	sleep_ms(50);
	EXPECT_EQ(waitpid(pid, NULL, WNOHANG), 0);	/* still short */
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 50, NULL), 0);
	close(fd);
	EXPECT_EQ(child_exit_code(pid), 0);
	EXPECT_EQ(get_balance(), 0);
	EXPECT_EQ(get_stats().withdrawals, 1);
}

TEST(blocking_withdraw_woken_by_reset)
{
	pid_t pid;
	int64_t v = 1000;
	int fd;

	setup("mutex", 0);
	pid = blocked_withdrawer(10);
	wait_for_waiters(1);
	fd = dev_open(O_RDWR);
	EXPECT_EQ(ioctl(fd, BANK_IOC_SET_BALANCE, &v), 0);
	close(fd);
	EXPECT_EQ(child_exit_code(pid), 0);
	EXPECT_EQ(get_balance(), 990);
}

/*
 * Where a withdrawer sleeps for funds, as /proc/PID/wchan tells it (and
 * the lab's hints, and a student who looks): bank_wait_for_funds(), the
 * function of the lesson, not whichever caller the compiler folded it
 * into.
 */
TEST(waiter_sleeps_in_bank_wait_for_funds)
{
	char path[64], wchan[128] = "";
	pid_t pid;
	int i, fd;

	setup("mutex", 0);
	pid = blocked_withdrawer(10);
	wait_for_waiters(1);
	snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
	for (i = 0; i < 100; i++) {
		if (!read_line(path, wchan, sizeof(wchan)) &&
		    wchan[0] && strcmp(wchan, "0"))
			break;
		sleep_ms(10);
	}
	TH_LOG("the withdrawer sleeps in %s", wchan);
	fd = dev_open(O_RDWR);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 10, NULL), 0);
	close(fd);
	EXPECT_EQ(child_exit_code(pid), 0);
	if (!wchan[0] || !strcmp(wchan, "0"))
		SKIP("this kernel's /proc/PID/wchan names no function");
	EXPECT_TRUE(!strcmp(wchan, "bank_wait_for_funds"));
}

static int sig_pipe = -1;

static void on_signal(int sig)
{
	char c = (char)sig;

	if (write(sig_pipe, &c, 1) < 0)
		_exit(99);
}

/*
 * A blocked withdrawal and a signal. Without SA_RESTART the call ends with
 * EINTR and takes nothing; with SA_RESTART it goes back to waiting, and a
 * deposit completes it.
 */
static void signal_case(int restart)
{
	struct bank_stats before;
	int pipefd[2];
	char c;
	pid_t pid;
	int fd;

	setup("mutex", 200);
	before = get_stats();
	ASSERT_EQ(pipe(pipefd), 0);
	pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_signal };

		sa.sa_flags = restart ? SA_RESTART : 0;
		sig_pipe = pipefd[1];
		sigaction(SIGUSR1, &sa, NULL);
		fd = dev_open(O_RDWR);
		_exit(op(fd, BANK_IOC_WITHDRAW, 500, NULL));
	}
	wait_for_waiters(1);
	ASSERT_EQ(kill(pid, SIGUSR1), 0);
	ASSERT_EQ(read(pipefd[0], &c, 1), 1);	/* the handler ran */
	if (!restart) {
		EXPECT_EQ(child_exit_code(pid), EINTR);
		expect_unchanged(&before);
		EXPECT_EQ(get_balance(), 200);
		return;
	}
	sleep_ms(100);
	EXPECT_EQ(waitpid(pid, NULL, WNOHANG), 0);	/* waiting again */
	EXPECT_EQ(get_balance(), 200);
	fd = dev_open(O_RDWR);
	EXPECT_EQ(op(fd, BANK_IOC_DEPOSIT, 300, NULL), 0);
	close(fd);
	EXPECT_EQ(child_exit_code(pid), 0);
	EXPECT_EQ(get_balance(), 0);
}

TEST(blocking_withdraw_signal_eintr)
{
	signal_case(0);
}

TEST(blocking_withdraw_signal_sa_restart)
{
	signal_case(1);
}

SUITE_MAIN("suite-wait: the wait for funds.")
