/* SPDX-License-Identifier: GPL-2.0 */
#ifndef BANKLOOP_H
#define BANKLOOP_H

#include <stdbool.h>

/* main() of deposit (@withdraw false) and withdraw (@withdraw true). */
int bank_loop_main(int argc, char **argv, bool withdraw);

#endif /* BANKLOOP_H */
