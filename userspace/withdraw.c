// SPDX-License-Identifier: GPL-2.0
/* withdraw: the notebook's withdraw() process. `withdraw --help` for usage. */
#include "bankloop.h"

int main(int argc, char **argv)
{
	return bank_loop_main(argc, argv, true);
}
