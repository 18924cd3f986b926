#!/bin/sh
# In the guest: make demo-readers's table. Two processes take statements
# while two transfer money, for each strategy of "statement" in lock mode
# mutex, after a row with no reader at all. Exit status 1 if a strategy
# that promises whole statements showed a torn one, or a run failed.
status=0
seconds=3

# A step marker for vm.sh: a hung guest's diagnosis names the step. In the
# VM only: on the native path these lines would reach the user.
step() {
	if [ -f /kbank/env ]; then echo "KBANK-STEP $*"; fi
}

echo "Statements (every account's balance) read by 2 processes while 2 others"
echo "transfer money between $(cat /sys/module/bank/parameters/accounts) accounts, ${seconds} s a row, lock=mutex;"
echo "the strategy is bank.ko's parameter 'statement'. median, p99: a transfer's time"
echo "in the kernel, in microseconds. torn: statements whose total was not the bank's."
echo
printf '%-9s %7s %12s %11s %7s %7s %6s %7s %9s %6s %6s\n' statement readers statements/s transfers/s \
	median p99 torn retries fallbacks copies waited
for row in "locks 0" "locks 2" "none 2" "rwlock 2" "rwsem 2" "seqlock 2" "rcu 2"; do
	set -- $row
	step "bank-statement -s $1 -r $2"
	line=$(bank-statement -s "$1" -m mutex -D 0 -r "$2" -w 2 -t "$seconds" -c)
	rc=$?
	[ $rc = 0 ] || status=1
	[ -n "$line" ] || { echo "$1: bank-statement failed ($rc)"; continue; }
	# statement,lock,readers,writers,statements/s,transfers/s,median,p99,
	# max,torn,kernel_torn,retries,fallbacks,copies,copy_waits
	echo "$line" | awk -F, -v r="$2" '{
		s = (r == 0) ? "-" : $5
		printf "%-9s %7s %12s %11s %7s %7s %6s %7s %9s %6s %6s\n", $1, $3, s, $6, $7, $8, $10, $12, $13, $14, $15 }'
done

cat <<'TEXT'

What each row teaches:
  locks 0  no reader: what the transfers do alone, the yardstick of the rest.
  locks    a statement takes every account's lock in order: while it reads, no
           transfer moves, and each statement costs as many locks as accounts.
  none     no lock: reads never wait and never block, and a transfer that lands
           between two of a statement's reads tears it (torn > 0).
  rwlock   statements share one lock, a transfer takes it alone: readers no
           longer block each other, but they still block writers, which spin.
  rwsem    the same lock, whose waiters sleep instead of spinning. Neither
           starves the transfers: a new reader queues behind a waiting writer
           (rwlock_t), or the lock is handed to a writer that waited (rwsem).
  seqlock  a statement never blocks a transfer: it reads again when one ran
           meanwhile (retries), and after 8 tries takes the lock (fallbacks).
  rcu      a statement never waits and never retries: it reads the last copy
           published. Every transfer pays instead: it allocates and publishes
           a copy of every balance, and the old copy waits a grace period;
           when 256 old copies wait already, the transfer itself waits for
           one (waited), which bounds the memory the copies take.
TEXT
exit $status
