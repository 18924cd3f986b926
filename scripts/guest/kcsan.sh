#!/bin/sh
# In the guest (debug kernel): race two processes in lock mode none until
# KCSAN reports it, then print the first report between KBANK-KCSAN markers.
header=-H
for round in 1 2 3 4 5; do
	bank-race $header -m none -D 0 -b 1000000 -p 1 -n 20000 -s 0 -l race
	header=
	dmesg | grep -q 'BUG: KCSAN: data-race in bank_' && break
done
bankctl lock mutex
echo KBANK-KCSAN-BEGIN
dmesg | awk '/BUG: KCSAN: data-race in bank_/ { on = 1 } on { print } on && /^\[[ 0-9.]*\] =+$/ { exit }'
echo KBANK-KCSAN-END
