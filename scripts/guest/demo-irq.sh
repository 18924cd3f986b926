#!/bin/sh
# In the guest (any kernel): interest paid by a timer from each context,
# with the spinlock and the right primitive in process context; each
# run's row must have expected == final (bank-race's exit status 0). Then what is refused, and why. Exit 1
# if a row is wrong or a refusal is missing.
P=/sys/module/bank/parameters
T=/sys/kernel/tracing
status=0

# Interest off, from the workqueue: every change is made with the payer stopped.
interest_off() {
	echo 0 >$P/interest_ms
	echo workqueue >$P/interest_ctx
}

echo "== lock=spinlock delay_us=20, a payment of 1 into every account each ms,"
echo "   from each context in turn, beside 2 depositing and 2 withdrawing processes."
echo
bankctl lock spinlock
header=-H
for ctx in softirq hardirq workqueue; do
	interest_off
	echo $ctx >$P/interest_ctx
	echo 1 >$P/interest_ms
	# Exit status 0: final == expected, nothing lost.
	bank-race $header --pairs 2 --count 2000 --sleep 0 --delay 20 --start 1000 --label "$ctx" ||
		status=1
	echo 0 >$P/interest_ms
	header=""
done
echo
echo "The deposits count the interest. Where each payment ran, from the"
echo "trace event bank_interest (one line per context):"
echo
if [ -d $T/events/bank/bank_interest ]; then
	for ctx in softirq hardirq workqueue; do
		interest_off
		echo $ctx >$P/interest_ctx
		echo >$T/trace
		echo 1 >$T/events/bank/bank_interest/enable
		echo 5 >$P/interest_ms
		sleep 0.1
		echo 0 >$P/interest_ms
		echo 0 >$T/events/bank/bank_interest/enable
		grep -m 1 'bank_interest:' $T/trace | sed 's/^ *//; s/  */ /g'
	done
fi
interest_off
echo
echo "== What cannot work is refused, with the reason (dmesg):"
echo
refused() {
	if echo "$2" >$P/"$1" 2>/dev/null; then
		echo "$1=$2 was accepted"
		status=1
	else
		dmesg | tail -n 1 | sed 's/^\[[ 0-9.]*\] /  /'
	fi
}
bankctl lock mutex
echo 1 >$P/interest_ms
echo "\$ echo softirq > $P/interest_ctx      # with lock=mutex"
refused interest_ctx softirq
echo 0 >$P/interest_ms
if [ ! -e /proc/lockdep_chains ]; then
	echo "\$ echo plain > $P/interest_lock       # this kernel has no lockdep"
	refused interest_lock plain
fi
exit $status
