#!/bin/sh
# make bench: one VM boot, every measurement (guest/bench.sh), then the CSV,
# the Markdown table and the plots in build/bench/. Fails when a measurement
# failed or is missing, or when a target the report states is missed.
#
#   bench.sh           all of it (make bench)
#   bench.sh trace     only the cost of the trace events
#   bench.sh guard     the ratio guard (make bench-guard): a short run whose
#                      ratios are compared with docs/bench/baseline.txt
#   bench.sh baseline  the same run in 3 boots (RUNS=n), their medians
#                      written as the new baseline (make bench-baseline)
#   bench.sh profile   where an uncontended deposit's time goes, function
#                      by function, against the null ioctl: perf in the
#                      guest (make bench-profile, about 20 min)
# BASELINE=file: another baseline than docs/bench/baseline.txt, for both.
set -eu
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"
"$scripts/targets/setup.sh" bench || exit 1
KERNEL=${KERNEL:-stock}
what=${1:-all}
if [ "$what" = profile ]; then
	"$scripts/targets/setup.sh" check || exit 1
	out="$top/build/bench-profile"
	mkdir -p "$out"
	# 15 runs of perf record and report: about 80 s each under TCG.
	msg "15 runs under perf, about 20 min; the guest's output in $out/guest.log"
	KBANK_RERUN="make bench-profile" "$scripts/vm/vm.sh" -t 2700 -i 300 -- \
		/kbank/guest/deposit-profile.sh >"$out/guest.log" || { tail -n 5 "$out/guest.log"; exit 1; }
	python3 "$scripts/tools/deposit_profile.py" "$top/build/vm-$KERNEL/results.log" \
		>"$out/profile.md" || { cat "$out/profile.md"; exit 1; }
	cat "$out/profile.md"
	echo "bench: the tables in $out/profile.md"
	exit 0
fi
case $what in
all | trace) out="$top/build/bench" limit=1800 ;;
guard | baseline) out="$top/build/bench-guard" limit=900 ;;
*) die "usage: bench.sh [trace|guard|baseline|profile]" ;;
esac
mkdir -p "$out"
baseline=${BASELINE:-$top/docs/bench/baseline.txt}
if [ "$what" = all ] || [ "$what" = trace ]; then
	# bank.ko built without its trace events (-DNOTRACE), in a copy of the
	# sources, for the cost of a disabled tracepoint against none at all.
	kenv=$("$scripts/kernels/kernel.sh") || die "no kernel"
	eval "$kenv"
	nt="$top/build/notrace"
	rm -rf "$nt" && mkdir -p "$nt"
	cp -r "$top/Kbuild" "$top/module" "$top/include" "$nt/"
	rm -f "$nt"/module/*.o "$nt"/module/*.ko "$nt"/module/.*.cmd
	if make -s -C "$KDIR" M="$nt" KCFLAGS=-DNOTRACE modules >"$nt/build.log" 2>&1; then
		cp "$nt/module/bank.ko" "$nt/bank_notrace.ko"
		export KBANK_EXTRA_KO="$nt/bank_notrace.ko"
	else
		msg "bank.ko without tracepoints did not build (see $nt/build.log): not compared"
	fi
fi
guest_mode=$what
[ "$what" = all ] && guest_mode=""
[ "$what" = baseline ] && guest_mode=guard
results="$top/build/vm-$KERNEL/results.log"

# boot LOG: one VM, the guest's part of the measurements; its results.log
# copied to LOG. Fails if the guest failed; a guest that failed before its
# rows (a hang, a crash) also leaves nothing to report.
boot() {
	"$scripts/vm/vm.sh" -t "$limit" -- /kbank/guest/bench.sh ${guest_mode:+"$guest_mode"} >"$out/guest.log" 2>&1 &
	vm=$!
	# Progress: the guest announces each measurement.
	tail -f "$out/guest.log" --pid=$vm 2>/dev/null | grep --line-buffered '^bench:' &
	vm_status=0
	wait $vm || vm_status=$?
	if ! grep -q '^KBANK-CSV-END$' "$results" 2>/dev/null; then
		tail -n 30 "$out/guest.log" >&2
		die "the benchmark VM failed before printing its rows"
	fi
	cp "$results" "$1"
	accel=$(sed -n 's/.*vm (.*, \(kvm\|tcg\)).*/\1/p' "$out/guest.log" | tail -n 1)
	if [ $vm_status != 0 ]; then
		msg "the benchmark VM failed (exit $vm_status): see the FAILED lines and $out/guest.log"
		return 1
	fi
}

status=0
case $what in
all | trace)
	boot "$out/results.log" || status=1
	python3 "$scripts/tools/bench_report.py" "$out/results.log" "$out" "$accel" || status=1
	echo
	echo "Files: $out/bench.csv $out/bench.md $out/ops_vs_n.png $out/cpu_vs_delay.png $out/batch.png"
	;;
guard)
	boot "$out/results.log" || status=1
	python3 "$scripts/tools/bench_guard.py" check "$baseline" "$out/results.log" ||
		status=1
	;;
baseline)
	logs=""
	for i in $(seq "${RUNS:-3}"); do
		msg "boot $i of ${RUNS:-3}"
		boot "$out/results-$i.log" || die "no baseline from a failed run"
		logs="$logs $out/results-$i.log"
	done
	# shellcheck disable=SC2086 # one argument per log
	python3 "$scripts/tools/bench_guard.py" write "$baseline" "$accel" $logs ||
		status=1
	;;
esac
exit $status
