/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by kbank's programs: the device, its module parameters,
 * numbers from the command line and error messages.
 *
 * Exit codes of every program: 0 done, 1 a call failed (the message names
 * it), 2 bad usage. bank-race adds 3: the balance came out wrong.
 */
#ifndef BANK_CLIENT_H
#define BANK_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/bank.h>

#define BANK_DEVICE	"/dev/bank"
#define BANK_PARAMS	"/sys/module/bank/parameters"

enum { EXIT_CALL = 1, EXIT_USAGE = 2, EXIT_WRONG = 3 };

/* The running program's name, for messages: set from argv[0]. */
extern const char *progname;

void set_progname(const char *argv0);

/* "progname: what: strerror(errno)" on stderr. */
void warn_errno(const char *what);

/* Same, then exit(EXIT_CALL). */
void die_errno(const char *what) __attribute__((noreturn));

/*
 * die_errno() for a call on the device or a module parameter, adding a hint
 * when the cause is probably that bank.ko is not loaded, or that only root
 * may open the device.
 */
void die_bank_errno(const char *what) __attribute__((noreturn));

/* "progname: message" on stderr and a hint about --help, exit(EXIT_USAGE). */
void die_usage(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

/* Parse a whole decimal number; false if it is not one or out of range. */
bool parse_s64(const char *s, int64_t *out);
bool parse_seconds(const char *s, double *out);

/* The name of a BANK_LOCK_* value ("?" for others). */
const char *bank_lock_name(uint32_t lock);

/* The name of a BANK_STATEMENT_* value ("?" for others). */
const char *bank_statement_name(uint32_t statement);

/* open(2) the device, or die with a message. */
int bank_open(const char *path, int flags);

/* ioctl(2) that dies with "progname: NAME: strerror" on failure. */
void bank_ioctl_or_die(int fd, unsigned long cmd, void *arg,
		       const char *name);

/*
 * Read or write a module parameter of bank.ko. Return 0, or -1 with errno
 * set (a write refused by the module gives its errno: EINVAL, EBUSY).
 */
int bank_param_read(const char *name, char *buf, size_t size);
int bank_param_write(const char *name, const char *value);

/* The lock mode and delay_us as they were before bank_configure(). */
struct bank_saved {
	char lock[32];		/* "" when bank_configure() did not change it */
	char delay_us[32];
};

/*
 * Set the lock mode and delay_us of bank.ko, each only if not NULL, or die
 * naming the file. The lock changes only while nobody has the device open.
 * With @saved, keep what they were, for bank_restore().
 */
void bank_configure(const char *lock, const char *delay_us,
		    struct bank_saved *saved);

/*
 * Put back what bank_configure() changed (the device must be closed by
 * then, for the lock). Return 0, or -1 after a message for what failed.
 */
int bank_restore(const struct bank_saved *saved);

/*
 * Call @handler on SIGINT, SIGTERM and SIGHUP: the signals that end a run
 * which must put the module's settings back first.
 */
void bank_catch_signals(void (*handler)(int));

/* Sleep for @seconds (fractions allowed); 0 returns at once. */
void sleep_seconds(double seconds);

#endif /* BANK_CLIENT_H */
