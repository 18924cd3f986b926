#!/bin/sh
# make bench: one VM boot, every measurement (guest/bench.sh), then the CSV,
# the Markdown table and the plots in build/bench/. A benchmark, not a test:
# it fails only if the measurements could not be taken.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"
"$here/setup.sh" || exit 1
out="$top/build/bench"
mkdir -p "$out"
KERNEL=${KERNEL:-stock}
"$here/vm.sh" -t 1800 -- /kbank/guest/bench.sh >"$out/guest.log" 2>&1 &
vm=$!
# Progress: the guest announces each measurement.
tail -f "$out/guest.log" --pid=$vm 2>/dev/null | grep --line-buffered '^bench:' &
wait $vm || { tail -n 30 "$out/guest.log" >&2; die "the benchmark VM failed"; }
accel=$(sed -n 's/.*vm (.*, \(kvm\|tcg\)).*/\1/p' "$out/guest.log" | tail -n 1)
python3 "$here/bench_report.py" "$top/build/vm-$KERNEL/results.log" "$out" "$accel" || exit 1
echo
echo "Files: $out/bench.csv $out/bench.md $out/ops_vs_n.png $out/cpu_vs_delay.png $out/batch.png"
