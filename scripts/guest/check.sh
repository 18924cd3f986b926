#!/bin/sh
# In the guest: the suite (tests/bank_test.c), which also runs the 32-bit
# and Python clients. Arguments select tests by name.
exec bank_test "$@"
