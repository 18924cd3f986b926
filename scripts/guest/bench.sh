#!/bin/sh
# In the guest: every measurement of make bench, one CSV row each, between
# KBANK-CSV markers; progress on stderr. The host turns it into the table,
# the CSV with the environment, and the plots.
#
#   bench.sh          every measurement (make bench)
#   bench.sh trace    only the cost of the trace events
#   bench.sh guard    only the ratios the guard compares with its baseline
#                     (make bench-guard, make bench-baseline): a few minutes
#
# A measurement that fails (a call failed, an account ran empty) is named in
# a KBANK-BENCH-FAILED line, and the script exits 1 after the rows: a row
# missing without a word would be a benchmark that measures nothing. What it
# skips on purpose (no python3 in the guest, no bank events, no bank.ko
# without tracepoints) it says in KBANK-ENV skipped=.
echo "KBANK-ENV kernel=$(uname -r)"
echo "KBANK-ENV vcpus=$(grep -c ^processor /proc/cpuinfo)"
echo "KBANK-ENV mitigations=$(cd /sys/devices/system/cpu/vulnerabilities &&
	for f in meltdown spectre_v1 spectre_v2 retbleed; do
		[ -f $f ] && printf '%s: %s; ' $f "$(cat $f)"
	done)"
echo "KBANK-ENV bench=${1:-all}"
echo "KBANK-ENV module=$(cat /sys/module/bank/srcversion 2>/dev/null)"

rows=/tmp/bench.csv
: >$rows
failures=0
failed() {
	echo "bench: FAILED: $*" >&2
	echo "KBANK-BENCH-FAILED $*"
	failures=$((failures + 1))
}
run() {
	echo "bench: $*" >&2
	bank-bench "$@" >>$rows || failed "$*"
}
skipped=""
skip() {
	echo "bench: not measured: $2" >&2
	skipped="$skipped${skipped:+,}$1"
}
finish() {
	echo "KBANK-ENV skipped=$skipped"
	echo KBANK-CSV-BEGIN
	cat $rows
	echo KBANK-CSV-END
	[ $failures = 0 ] || { echo "bench: $failures measurements failed" >&2; exit 1; }
	exit 0
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
	# Not a pipe into sed: its status would hide bank-bench's.
	if bank-bench "$@" >/tmp/bench.one; then
		sed "s/^\(deposit\|null_ioctl\)_paired,/\1_$variant,/" /tmp/bench.one >>$rows
	else
		failed "$variant $*"
	fi
}
trace_cost() {
	if [ ! -d $T/events/bank ]; then
		skip trace "the bank trace events (this kernel has none)"
		return 0
	fi
	echo mono >$T/trace_clock
	[ -f /kbank/bank_notrace.ko ] ||
		skip notrace "bank.ko without tracepoints (it did not build)"
	for round in 1 2 3 4 5; do
		run_as events_off -b paired -m mutex -D 0
		echo 1 >$T/events/bank/enable
		run_as events_on -b paired -m mutex -D 0
		echo 0 >$T/events/bank/enable
		echo >$T/trace
		if [ -f /kbank/bank_notrace.ko ]; then
			if rmmod bank && insmod /kbank/bank_notrace.ko; then
				run_as no_tracepoints -b paired -m mutex -D 0
			else
				failed "no_tracepoints: insmod bank_notrace.ko"
			fi
			rmmod bank
			insmod /kbank/bank.ko $KBANK_PARAMS
		fi
	done
}

# The guard's ratios: each operation against the null ioctl in alternating
# blocks (paired), five interleaved rounds, so that each ratio is a median
# over rounds spread across the run. Short samples: it fits in a CI run.
# Not the contended rates (N = 2 against N = 1, N = 8 against N = 2) nor
# C against Python: from one round to the next on a shared 2-core machine
# under TCG they moved by a factor of 2 or more, too much to guard.
guard() {
	for round in 1 2 3 4 5; do
		for mode in none spinlock mutex atomic; do
			run -b paired -m $mode -D 0 -S 2
			run -b paired -o transfer -m $mode -D 0 -S 2
		done
		run -b paired -o batch -k 1 -m mutex -D 0 -S 2
		run -b paired -o batch -k 64 -m mutex -D 0 -S 2
	done
}

bankctl order ordered
case ${1:-} in
trace)
	trace_cost
	finish
	;;
guard)
	guard
	finish
	;;
esac
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
# Transfers between two accounts of four, lock_order=ordered (set above),
# at each N.
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

# The notebook's design in Python, through the host's python3 over 9p.
if [ -n "${KBANK_PYTHON:-}" ]; then
	for n in 1 1 1 2 4 8; do
		# Its C counterpart right before, for a ratio of neighbours.
		[ $n = 1 ] && run -b alt -m mutex -D 0 -w 1
		echo "bench: python_value -w $n" >&2
		$KBANK_PYTHON \
			"$KBANK_REPO/userspace/python/bench_value.py" $n >>$rows ||
			failed "python_value $n"
	done
else
	skip python "Python (no python3 in this guest)"
fi
finish
