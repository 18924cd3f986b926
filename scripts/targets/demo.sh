#!/bin/sh
# make demo: set up, then run the notebook's experiment in every lock mode
# and print the table, in the running kernel (native path) or in the VM
# (lib.sh's run_path says which). Fails if a locked mode is ever wrong. In
# the VM, then the timelines drawn from the trace the guest recorded: as
# text here, and as SVG in build/trace/.
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"
"$scripts/targets/setup.sh" demo || exit 1
if [ "$(run_path)" = native ]; then
	exec "$scripts/targets/native.sh" demo.sh
fi
msg "QEMU run (KERNEL=${KERNEL:-stock}); on a machine that loads modules, the running kernel is used instead"
# -i 120: the demo prints a row every few seconds; its longest silence was
# 47 s in 10 runs (the Python notebook: Python starts slowly over 9p), on 2
# cores loaded 7 to 11 deep. A hung demo stops after 120 s, not 400.
KBANK_RERUN="make demo" "$scripts/vm/vm.sh" -t 400 -i 120 -- /kbank/guest/demo.sh
status=$?
results="$top/build/vm-${KERNEL:-stock}/results.log"
out="$top/build/trace"
mkdir -p "$out"
grep -q '^KBANK-TRACE-BEGIN ' "$results" || exit $status
start=$(date +%s)
for t in none spinlock mutex; do
	sed -n "/^KBANK-TRACE-BEGIN $t\$/,/^KBANK-TRACE-END\$/p" "$results" |
		sed '1d;$d' >"$out/trace-$t.txt"
	echo
	case $t in
	none) python3 "$top/userspace/python/bank_trace.py" lost -n 1 "$out/trace-$t.txt" || status=1 ;;
	esac
	echo
	python3 "$top/userspace/python/bank_trace.py" timeline \
		--svg "$out/timeline-$t.svg" "$out/trace-$t.txt" || status=1
done
guest=$(sed -n '/^KBANK-TRACE-BEGIN seconds$/{n;p;}' "$results")
echo
echo "Traces and pictures: $out/trace-*.txt $out/timeline-*.svg"
echo "(the trace took ${guest:-?} s in the VM and $(( $(date +%s) - start )) s to draw)"
exit $status
