#!/bin/sh
# In the guest (debug kernel, lockdep on): the two directions one after the
# other, never at the same time, so nothing deadlocks; lockdep still proves
# that a deadlock is possible. Prints its report between KBANK-LOCKDEP markers.
bankctl lock mutex
bankctl order naive
echo "\$ bankctl transfer 1 2 10      # takes account 1's mutex, then account 2's"
bankctl transfer 1 2 10
echo "\$ bankctl transfer 2 1 10      # later: account 2's, then account 1's"
bankctl transfer 2 1 10
bankctl order ordered
echo KBANK-LOCKDEP-BEGIN
dmesg | sed 's/^\[[ 0-9.]*\] //' |
	awk '/possible circular locking dependency detected/ { on = 1 } on { print } on && /\*\*\* DEADLOCK \*\*\*/ { exit }'
echo KBANK-LOCKDEP-END
