#!/bin/sh
# In the guest: the experiment behind banktrace.sh's rule (switch each
# event on once, never off). RUNS times, bank-race runs two deposit and
# two withdraw processes while trace events are recorded:
#
#   switch-stress.sh switch [RUNS]  bank:*, sched_switch and lock:* switched
#                                   on before each run and off after it
#   switch-stress.sh once [RUNS]    switched on once; each run only turns
#                                   recording on and off (tracing_on)
#
# Run it with scripts/vm/vm.sh -t 1500 -i 120 -- /kbank/guest/switch-stress.sh
# MODE 100, and count the boots that hang (docs/troubleshooting.md).
T=/sys/kernel/tracing
mode=${1:-switch} runs=${2:-100}
case $mode in
switch | once) ;;
*) echo "usage: switch-stress.sh switch|once [RUNS]" >&2; exit 2 ;;
esac
events_on() {
	echo 1 >$T/events/bank/enable &&
		echo 1 >$T/events/sched/sched_switch/enable &&
		echo 1 >$T/events/lock/enable
}
[ $mode = once ] && { events_on || exit 1; }
i=0
while [ $i -lt "$runs" ]; do
	i=$((i + 1))
	echo "KBANK-STEP switch-stress.sh $mode: run $i"
	bank-race -m mutex -D 20 -b 1000 -p 2 -n 200 -s 0 -l stress >/dev/null 2>&1 &
	if [ $mode = switch ]; then
		events_on || exit 1
	fi
	echo 1 >$T/tracing_on
	wait
	echo 0 >$T/tracing_on
	[ $mode = switch ] && echo 0 >$T/events/enable
	echo >$T/trace
	echo "switch-stress.sh $mode: run $i done"
done
