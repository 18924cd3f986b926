#!/bin/sh
# In the guest (stock kernel): the deadlock lesson. Two processes transfer in
# opposite directions with lock_order=naive and the mutex: they hang; the
# load sees it, shows where each waits, kills them, checks the money. Then
# lock_order=ordered: the same load completes. Exit 1 if either goes wrong.
status=0
echo "== The hang: lock=mutex lock_order=naive delay_us=10000, one process moving"
echo "   money from account 1 to 2 while another moves it from 2 to 1."
echo
bankctl accounts
echo
echo "\$ bank-transfer --lock mutex --order naive --delay 10000 --procs 2 --count 100 --stall 2"
bank-transfer --lock mutex --order naive --delay 10000 --procs 2 --count 100 --stall 2
rc=$?
if [ $rc != 4 ]; then
	echo "expected a deadlock (exit status 4), got $rc"
	status=1
fi
echo
echo "Both were killed, nobody holds /dev/bank: rmmod works."
rmmod bank && insmod /kbank/bank.ko || status=1
echo
echo "== The fix: lock_order=ordered, the lower account's lock first, same load."
echo
echo "\$ bank-transfer --lock mutex --order ordered --delay 10000 --procs 2 --count 100 --stall 20"
bank-transfer --lock mutex --order ordered --delay 10000 --procs 2 --count 100 --stall 20 ||
	status=1
bankctl delay 0
exit $status
