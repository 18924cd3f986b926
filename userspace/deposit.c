// SPDX-License-Identifier: GPL-2.0
/* deposit: the notebook's deposit() process. `deposit --help` for usage. */
#include "bankloop.h"

int main(int argc, char **argv)
{
	return bank_loop_main(argc, argv, false);
}
