#!/bin/sh
# In the guest: the whole suite, then the 32-bit and Python clients come
# with it (see tests/bank_test.c). Arguments select tests by name.
export KBANK_REPO
bank_test "$@"
