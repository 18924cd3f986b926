#!/bin/sh
# In the guest: the notebook's experiment in every lock mode, as one table.
# Exit status 1 if a locked mode ever ends with a wrong balance.
status=0
header=-H

# A step marker for vm.sh: a hung guest's diagnosis names the step. In the
# VM only: on the native path these lines would reach the user.
step() {
	if [ -f /kbank/env ]; then echo "KBANK-STEP $*"; fi
}

row() {
	step "bank-race $*"
	bank-race $header "$@"
	rc=$?
	header=
	return $rc
}

echo "The notebook, in the kernel: one deposit and one withdraw process share"
echo "the balance in /dev/bank; the lock is bank.ko's parameter 'lock'."
echo
for mode in none spinlock mutex atomic; do
	# The notebook's cell: 100 x (sleep 10 ms, +-1) each, from 200.
	row -m $mode -D 0 -b 200 -n 100 -s 0.01 -l notebook
	rc=$?
	[ $mode != none ] && [ $rc != 0 ] && status=1
	# The race made visible: no sleep, 2 pairs, 20 us between read and write.
	for try in 1 2 3; do
		row -m $mode -D 20 -b 1000000 -p 2 -n 5000 -s 0 -l race
		rc=$?
		# In none, a run the scheduler happened to serialize proves
		# nothing: try again (it rarely is needed).
		[ $mode = none ] && [ $rc = 0 ] && continue
		break
	done
	[ $mode != none ] && [ $rc != 0 ] && status=1
done
bankctl delay 0

cat <<'TEXT'

What each row teaches:
  none     notebook: the notebook's sleeps make collisions rare, so the final
           balance is often right by luck; "expected", counted exactly by the
           kernel, shows whether any update was lost.
  none     race: read, wait 20 us, write back with no lock. Two CPUs read the
           same balance and the second write erases the first: lost updates.
           net_lost is |expected - final|: lost deposits and lost withdrawals
           cancel out, so at least that many vanished.
  spinlock a waiter spins until the holder is done: exact, at the price of
           burnt CPU ("contended" counts the operations that waited).
  mutex    a waiter sleeps and its CPU runs something else: exact.
  atomic   no lock: compare-and-swap, retried when another CPU got in
           between ("contended" counts the operations that retried): exact.
TEXT

echo
echo "What a waiter costs: N processes, deposit/withdraw, delay_us=100 inside the lock"
echo "(kernel $(uname -r), 2 vCPUs):"
echo
printf '%-9s %3s %10s %14s %12s %12s\n' lock N "ops/s" "CPU us per op" "CPUs busy" "contended %"
for run in "spinlock 2" "mutex 2" "spinlock 8"; do
	set -- $run
	step "bank-bench -m $1 -w $2"
	bank-bench -b alt -m $1 -D 100 -w $2 -S 3 -t 300 |
		awk -F, '{ printf "%-9s %3d %10d %14.0f %7.2f of 2 %11.0f%%\n", $2, $3, $6, $10 / 1000, $15, $12 * 100 }'
done
bankctl delay 0
case $(uname -r) in
*-rt-*)	echo "PREEMPT_RT: spinlock_t is an rt_mutex. A waiter spins only while the holder"
	echo "runs, and sleeps when it does not: with 8 processes on 2 CPUs, less CPU burnt." ;;
*)	echo "A spinlock waiter spins, a mutex waiter sleeps: compare CPUs busy." ;;
esac

# The race, seen: bank.ko's trace events, drawn on the host (scripts/targets/demo.sh).
# In the VM only: scripts/targets/demo.sh draws them from the VM's console.
if [ -f /kbank/env ] && [ -d /sys/kernel/tracing/events/bank ]; then
	t0=$(date +%s)
	echo
	echo "Recording the trace events of a racy run (lock=none) and of a waiter for"
	echo "the spinlock and for the mutex (delay_us=1000):"
	# bank-race exits 3 when updates were lost: the point, in mode none.
	# banktrace.sh marks its own steps.
	# A race is a matter of timing: a traced run in which nothing was lost
	# (none) or nobody waited (the locks) has nothing to draw, and is run
	# again, up to three times, saying so.
	for try in 1 2 3; do
		/kbank/guest/banktrace.sh start || status=1
		step "bank-race -m none, traced"
		bank-race -m none -D 20 -b 1000 -p 1 -n 300 -s 0 -l traced
		rc=$?
		/kbank/guest/banktrace.sh stop /tmp/trace-none.txt || status=1
		[ $rc = 3 ] && break
		echo "(no update was lost this time: timing decides a race; once more)"
	done
	for mode in spinlock mutex; do
		for try in 1 2 3; do
			/kbank/guest/banktrace.sh start sched/sched_switch \
				lock/contention_begin lock/contention_end &&
				step "bank-race -m $mode, traced" &&
				bank-race -m $mode -D 1000 -b 1000 -p 1 -n 10 -s 0 -l traced &&
				/kbank/guest/banktrace.sh stop /tmp/trace-$mode.txt || status=1
			[ "$(cat /sys/class/misc/bank/contended)" != 0 ] && break
			echo "(nobody waited for the $mode this time: timing decides; once more)"
		done
	done
	step "bankctl delay 0, after the traces"
	bankctl delay 0
	step "printing the traces"
	for t in none spinlock mutex; do
		echo "KBANK-TRACE-BEGIN $t"
		cat /tmp/trace-$t.txt
		echo "KBANK-TRACE-END"
	done
	# How long the trace step took, for the host's summary: framed as a
	# trace, so that the console, which hides traces, does not show it.
	echo "KBANK-TRACE-BEGIN seconds"
	echo "$(( $(date +%s) - t0 ))"
	echo "KBANK-TRACE-END"
fi

if [ -n "${KBANK_PYTHON:-}" ]; then
	echo
	echo "The notebook's own Python, with /dev/bank for multiprocessing.Value and Lock"
	echo "(lock=mutex): python3 userspace/python/notebook.py"
	bankctl lock mutex
	step "python3 userspace/python/notebook.py"
	$KBANK_PYTHON "$KBANK_REPO/userspace/python/notebook.py" || status=1
fi
exit $status
