#!/bin/sh
# In the guest: record bank.ko's trace events with the tracefs files alone
# (no trace-cmd needed), for the demo and the suite.
#
#   banktrace.sh start [EVENT...]   clear, then record bank:* and EVENTs
#                                   (like sched/sched_switch)
#   banktrace.sh stop FILE          stop, save the trace text to FILE; exit
#                                   status 1 if any event was lost
#   banktrace.sh off                switch every event off
#
# The clock is "mono", one clock for every CPU (see bank_trace.py); the
# buffers are 16 MiB per CPU, about 200,000 events each, and the stop
# fails, rather than hand on an incomplete trace, if one overran.
#
# Switching an event on or off patches the kernel's code while it runs
# (static keys: an int3 written over each call site, then the new
# instruction). Under QEMU 7.2's multi-threaded TCG that can trap a CPU
# for good: switching bank:*, sched_switch and lock:* on and off while
# bank-race ran hung the guest in 2 boots of 2, after 3 and 18 switches,
# both CPUs looping in the int3 handler at a tracepoint of bank_update();
# with single-threaded TCG, 300 switches in 3 boots never did
# (docs/troubleshooting.md). So an event is switched on once, when first
# asked for, and never off: stop and start switch recording (tracing_on),
# which patches nothing, and clear the buffer; off switches every event
# off, for whoever needs them off. Each switch is a step
# of its own for vm.sh's diagnosis of a hung guest (KBANK-STEP, in kbank's
# VM only).
T=/sys/kernel/tracing
[ -d $T/events/bank ] || { echo "banktrace: no $T/events/bank" >&2; exit 1; }
step() {
	if [ -f /kbank/env ]; then echo "KBANK-STEP banktrace.sh $*"; fi
}
case $1 in
start)
	shift
	step "start: tracing off, buffers"
	echo 0 >$T/tracing_on
	echo mono >$T/trace_clock
	[ "$(cat $T/buffer_size_kb)" = 16384 ] || echo 16384 >$T/buffer_size_kb
	echo >$T/trace
	for e in bank "$@"; do
		# "1": on already, nothing to patch ("X": some of a group).
		[ "$(cat $T/events/$e/enable)" = 1 ] && continue
		step "start: event on: $e"
		echo 1 >$T/events/$e/enable || exit 1
	done
	echo 1 >$T/tracing_on
	;;
off)
	step "off: tracing off, events off"
	echo 0 >$T/tracing_on
	echo 0 >$T/events/enable
	;;
stop)
	step "stop: tracing off"
	echo 0 >$T/tracing_on
	step "stop: saving the trace"
	cat $T/trace >"$2" || exit 1
	lost=0
	for s in $T/per_cpu/cpu*/stats; do
		n=$(awk '/^(overrun|dropped events):/ { s += $NF } END { print s + 0 }' $s)
		lost=$((lost + n))
	done
	echo >$T/trace
	# Back on, as the kernel boots (trace-cmd record expects tracing_on
	# set); the events stay on, so the buffer fills with what follows
	# until the next start clears it.
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
