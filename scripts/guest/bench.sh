#!/bin/sh
# In the guest: every measurement of make bench, one CSV row each, between
# KBANK-CSV markers; progress on stderr. The host turns it into the table,
# the CSV with the environment, and the plots.
echo "KBANK-ENV kernel=$(uname -r)"
echo "KBANK-ENV vcpus=$(grep -c ^processor /proc/cpuinfo)"
echo "KBANK-ENV mitigations=$(cd /sys/devices/system/cpu/vulnerabilities &&
	for f in meltdown spectre_v1 spectre_v2 retbleed; do
		[ -f $f ] && printf '%s: %s; ' $f "$(cat $f)"
	done)"

rows=/tmp/bench.csv
: >$rows
run() {
	echo "bench: $*" >&2
	bank-bench "$@" >>$rows || echo "bench: FAILED: $*" >&2
}

# The bank trace events: the uncontended deposit (mutex) beside the null
# ioctl, with the events off, on (recorded into the ring buffer), and with
# bank.ko built without them (bank_notrace.ko, -DNOTRACE, when scripts/
# bench.sh built it), in interleaved rounds. Rows renamed per variant.
T=/sys/kernel/tracing
run_as() {
	variant=$1
	shift
	echo "bench: $variant: $*" >&2
	bank-bench "$@" | sed "s/^\(deposit\|null_ioctl\)_paired,/\1_$variant,/" >>$rows ||
		echo "bench: FAILED: $variant $*" >&2
}
trace_cost() {
	[ -d $T/events/bank ] || return 0
	echo mono >$T/trace_clock
	for round in 1 2 3 4 5; do
		run_as events_off -b paired -m mutex -D 0
		echo 1 >$T/events/bank/enable
		run_as events_on -b paired -m mutex -D 0
		echo 0 >$T/events/bank/enable
		echo >$T/trace
		if [ -f /kbank/bank_notrace.ko ]; then
			rmmod bank && insmod /kbank/bank_notrace.ko &&
				run_as no_tracepoints -b paired -m mutex -D 0
			rmmod bank
			insmod /kbank/bank.ko $KBANK_PARAMS
		fi
	done
}
if [ "${1:-}" = trace ]; then
	trace_cost
	echo KBANK-CSV-BEGIN
	cat $rows
	echo KBANK-CSV-END
	exit 0
fi
trace_cost

# Uncontended, N = 1: each lock mode's deposit against the null ioctl, in
# alternating blocks of 500 calls (the ratio the targets use), then the same
# as separate runs in three interleaved rounds.
for mode in none spinlock mutex atomic; do
	run -b paired -m $mode -D 0
done
for round in 1 2 3; do
	run -b null_ioctl -w 1
	run -b getppid -w 1
	for mode in none spinlock mutex atomic; do
		run -b deposit -m $mode -D 0 -w 1
	done
	run -b alt -m mutex -D 0 -w 1
done
# Floors and userspace baselines, same boot.
for n in 1 2 4 8; do
	run -b getppid -w $n
	run -b null_ioctl -w $n
	run -b pthread_mutex -w $n
	run -b c11_atomic -w $n
done
# Every lock mode, deposit and withdraw alternating, at each N.
for mode in none spinlock mutex atomic; do
	for n in 1 2 4 8; do
		run -b alt -m $mode -D 0 -w $n
	done
done
# Transfers between two accounts of four, lock_order=ordered, at each N.
bankctl order ordered
for mode in none spinlock mutex atomic; do
	for n in 1 2 4 8; do
		run -b transfer -m $mode -D 0 -w $n
	done
done
# Lost updates in none over at least 10^6 operations: long samples.
run -b alt -m none -D 0 -w 2 -S 5 -t 1000
# A waiter spins or sleeps: CPU per operation against delay_us, N = 2.
for mode in none spinlock mutex atomic; do
	for d in 0 1 10 100; do
		run -b alt -m $mode -D $d -w 2
	done
done
# One system call, K operations: batch size against throughput (mutex).
for k in 1 4 16 64 256; do
	run -b batch -m mutex -D 0 -w 1 -k $k
done
bankctl delay 0

# The notebook's design in Python, through the host's python3 over 9p.
if [ -n "${KBANK_PYTHON:-}" ]; then
	for n in 1 1 1 2 4 8; do
		# Its C counterpart right before, for a ratio of neighbours.
		[ $n = 1 ] && run -b alt -m mutex -D 0 -w 1
		echo "bench: python_value -w $n" >&2
		$KBANK_PYTHON \
			"$KBANK_REPO/userspace/python/bench_value.py" $n >>$rows ||
			echo "bench: FAILED: python_value $n" >&2
	done
fi

echo KBANK-CSV-BEGIN
cat $rows
echo KBANK-CSV-END
