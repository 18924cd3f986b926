#!/bin/sh
# In the guest, on the sanitizer kernel (make check-sanitize): the fuzzer's
# checker rejecting doctored input, the fuzz in every lock mode, the fail-nth
# walk, then kmemleak scans after them and after 100 insmod/rmmod cycles
# raced by processes opening /dev/bank. One TAP line per check.
#   sanitize.sh SEED SECONDS
seed=${1:-1} secs=${2:-15}
kml=/sys/kernel/debug/kmemleak
rc=0

# ok NAME, or not ok NAME: the status of the command before it.
tap() {
	if [ "$1" = 0 ]; then
		echo "ok - $2"
	else
		echo "not ok - $2"
		rc=1
	fi
}

# The leaks kmemleak finds now (objects older than its 5 s minimum age).
leaks() {
	sleep 6
	echo scan >$kml
	echo scan >$kml
	cat $kml
}

# What the kernel leaked while booting is not ours: set it aside.
if [ ! -w $kml ]; then
	echo "not ok - kmemleak: $kml missing (not the sanitizer kernel?)"
	exit 1
fi
echo scan >$kml
echo clear >$kml

for what in ledger balance errno; do
	out=$(bank_fuzz -s "$seed" -t 3 -D $what 2>&1)
	st=$?
	echo "$out" | grep -q '^# FAIL' && [ $st = 1 ]
	tap $? "fuzz checker fails on a doctored $what"
done

"$(dirname "$0")/fuzz.sh" "$seed" "$secs" mutex,spinlock,atomic,none || rc=1

for lock in mutex spinlock atomic; do
	echo $lock >/sys/module/bank/parameters/lock
	echo "# fail-nth walk, lock=$lock"
	bank_fuzz -F || rc=1
done
echo mutex >/sys/module/bank/parameters/lock

found=$(leaks)
[ -z "$found" ]
tap $? "kmemleak: no leak after the fuzz and the fail-nth walk"
[ -z "$found" ] || printf '%s\n' "$found" | head -n 60

# Openers race every load and unload; a busy module refuses rmmod: retry.
for i in 1 2 3; do
	(while :; do cat /dev/bank >/dev/null 2>&1; done) &
	eval "opener$i=$!"
done
cycles=0 stuck=0
while [ $cycles -lt 100 ]; do
	tries=0
	until rmmod bank 2>/dev/null; do
		tries=$((tries + 1))
		[ $tries -lt 1000 ] || { stuck=1; break; }
	done
	[ $stuck = 0 ] || break
	# shellcheck disable=SC2086 # the parameters are words
	insmod /kbank/bank.ko $KBANK_PARAMS || { stuck=1; break; }
	cycles=$((cycles + 1))
done
# shellcheck disable=SC2154 # set by eval above
kill "$opener1" "$opener2" "$opener3"
wait
[ $stuck = 0 ]
tap $? "100 insmod/rmmod cycles raced by openers ($cycles done)"
found=$(leaks)
[ -z "$found" ]
tap $? "kmemleak: no leak after the insmod/rmmod cycles"
[ -z "$found" ] || printf '%s\n' "$found" | head -n 60
exit $rc
