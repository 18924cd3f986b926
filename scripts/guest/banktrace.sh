#!/bin/sh
# In the guest: record bank.ko's trace events with the tracefs files alone
# (no trace-cmd needed), for the demo and the suite.
#
#   banktrace.sh start [EVENT...]   clear, then record bank:* and EVENTs
#                                   (like sched/sched_switch)
#   banktrace.sh stop FILE          stop, save the trace text to FILE; exit
#                                   status 1 if any event was lost
#
# The clock is "mono", one clock for every CPU (see bank_trace.py); the
# buffers are 16 MiB per CPU, about 200,000 events each, and the stop
# fails, rather than hand on an incomplete trace, if one overran.
#
# Switching an event on or off patches the kernel's code while it runs:
# each such write is a step of its own for vm.sh's diagnosis of a hung
# guest (KBANK-STEP, in kbank's VM only).
T=/sys/kernel/tracing
[ -d $T/events/bank ] || { echo "banktrace: no $T/events/bank" >&2; exit 1; }
step() {
	if [ -f /kbank/env ]; then echo "KBANK-STEP banktrace.sh $*"; fi
}
case $1 in
start)
	shift
	step "start: tracing off, events off, buffers"
	echo 0 >$T/tracing_on
	echo 0 >$T/events/enable
	echo mono >$T/trace_clock
	echo 16384 >$T/buffer_size_kb
	echo >$T/trace
	step "start: events on: bank $*"
	echo 1 >$T/events/bank/enable
	for e in "$@"; do
		echo 1 >$T/events/$e/enable || exit 1
	done
	echo 1 >$T/tracing_on
	;;
stop)
	step "stop: tracing off"
	echo 0 >$T/tracing_on
	step "stop: events off"
	echo 0 >$T/events/enable
	step "stop: saving the trace"
	cat $T/trace >"$2" || exit 1
	lost=0
	for s in $T/per_cpu/cpu*/stats; do
		n=$(awk '/^(overrun|dropped events):/ { s += $NF } END { print s + 0 }' $s)
		lost=$((lost + n))
	done
	echo >$T/trace
	# Back as the kernel boots: on, with no event enabled (trace-cmd
	# record expects tracing_on set).
	echo 1 >$T/tracing_on
	if [ $lost != 0 ]; then
		echo "banktrace: $lost events lost (overrun or dropped): trace incomplete" >&2
		exit 1
	fi
	;;
*)
	echo "usage: banktrace.sh start [EVENT...] | stop FILE" >&2
	exit 2
	;;
esac
