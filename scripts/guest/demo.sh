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

if [ -x /host/usr/bin/python3 ]; then
	echo
	echo "The notebook's own Python, with /dev/bank for multiprocessing.Value and Lock"
	echo "(lock=mutex): python3 userspace/python/notebook.py"
	bankctl lock mutex
	chroot /host /usr/bin/python3 "$KBANK_REPO/userspace/python/notebook.py" || status=1
fi
exit $status
