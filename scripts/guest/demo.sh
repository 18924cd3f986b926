#!/bin/sh
# In the guest: the notebook's experiment in every lock mode, as one table.
# Exit status 1 if a locked mode ever ends with a wrong balance.
status=0
header=-H

row() {
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
  spinlock a waiter spins until the holder is done: exact, at the price of
           burnt CPU ("contended" counts the waits).
  mutex    a waiter sleeps and its CPU runs something else: exact.
  atomic   no lock: compare-and-swap, retried when another CPU got in
           between ("contended" counts the retries): exact.
TEXT

echo
echo "What a waiter costs: N processes, deposit/withdraw, delay_us=100 inside the lock"
echo "(kernel $(uname -r), 2 vCPUs):"
echo
printf '%-9s %3s %10s %14s %12s %10s\n' lock N "ops/s" "CPU us per op" "CPUs busy" contended
for run in "spinlock 2" "mutex 2" "spinlock 8"; do
	set -- $run
	bank-bench -b alt -m $1 -D 100 -w $2 -S 3 -t 300 |
		awk -F, '{ printf "%-9s %3d %10d %14.0f %7.2f of 2 %10.2f\n", $2, $3, $6, $10 / 1000, $15, $12 }'
done
bankctl delay 0
case $(uname -r) in
*-rt-*)	echo "PREEMPT_RT: spinlock_t is an rt_mutex. A waiter spins only while the holder"
	echo "runs, and sleeps when it does not: with 8 processes on 2 CPUs, less CPU burnt." ;;
*)	echo "A spinlock waiter spins, a mutex waiter sleeps: compare CPUs busy." ;;
esac

if [ -n "${KBANK_PYTHON:-}" ]; then
	echo
	echo "The notebook's own Python, with /dev/bank for multiprocessing.Value and Lock"
	echo "(lock=mutex): python3 userspace/python/notebook.py"
	bankctl lock mutex
	$KBANK_PYTHON "$KBANK_REPO/userspace/python/notebook.py" || status=1
fi
exit $status
