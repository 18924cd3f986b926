#!/bin/sh
# In the guest: bank_fuzz in each lock mode, one TAP line per mode.
#   fuzz.sh SEED SECONDS LOCKS [WORKERS [OPS]]
# LOCKS: comma-separated lock modes. OPS: a one-worker replay of that length.
seed=$1 secs=$2 locks=$3 workers=${4:-4} ops=${5:-}
rc=0
for lock in $(echo "$locks" | tr , ' '); do
	if ! echo "$lock" >/sys/module/bank/parameters/lock; then
		echo "not ok - fuzz lock=$lock: cannot switch to it"
		rc=1
		continue
	fi
	if bank_fuzz -s "$seed" -t "$secs" -n "$workers" ${ops:+-o "$ops"}; then
		echo "ok - fuzz lock=$lock seed=$seed ${secs}s: ledger, errnos and counters agree"
	else
		echo "not ok - fuzz lock=$lock seed=$seed ${secs}s"
		rc=1
	fi
	echo 0 >/sys/module/bank/parameters/delay_us
done
exit $rc
