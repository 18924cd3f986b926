#!/bin/sh
# In the guest (debug kernel, lockdep on): process context takes account
# 0's spinlock, then the interest payer takes it in a softirq. With
# "plain" (interest_lock=plain), process context used spin_lock() with
# softirqs on: lockdep proves that the payer could interrupt the holder on
# its CPU and spin for ever, and its report is printed between
# KBANK-LOCKDEP markers. With "safe", the same steps with spin_lock_bh():
# no report, or exit 1. Never both at once, so nothing can deadlock.
P=/sys/module/bank/parameters
how=${1:-plain}
bankctl lock spinlock
echo softirq >$P/interest_ctx
echo "$how" >$P/interest_lock
echo "\$ bankctl deposit 10      # interest_lock=$how: account 0's spinlock, in process context"
bankctl deposit 10
echo "\$ echo 5 > $P/interest_ms     # the payer takes it in a softirq"
echo 5 >$P/interest_ms
sleep 1
echo 0 >$P/interest_ms
bankctl stats
echo safe >$P/interest_lock
echo workqueue >$P/interest_ctx
report=$(dmesg | sed 's/^\[[ 0-9.]*\] //' |
	awk '/inconsistent lock state/ { on = 1 } on { print; n++ } on && (/<\/IRQ>/ || n > 120) { exit }')
if [ "$how" = safe ]; then
	if [ -n "$report" ]; then
		printf '%s\n' "$report"
		exit 1
	fi
	echo "lockdep: no report."
	exit 0
fi
echo KBANK-LOCKDEP-BEGIN
printf '%s\n' "$report"
echo KBANK-LOCKDEP-END
