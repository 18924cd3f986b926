#!/bin/sh
# make bench: one VM boot, every measurement (guest/bench.sh), then the CSV,
# the Markdown table and the plots in build/bench/. A benchmark, not a test:
# it fails only if the measurements could not be taken.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"
"$here/setup.sh" bench || exit 1
out="$top/build/bench"
mkdir -p "$out"
KERNEL=${KERNEL:-stock}
# bank.ko built without its trace events (-DNOTRACE), in a copy of the
# sources, for the cost of a disabled tracepoint against none at all.
kenv=$("$here/kernel.sh") || die "no kernel"
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
# "make bench ARGS=trace" (scripts/bench.sh trace): only the trace events.
"$here/vm.sh" -t 1800 -- /kbank/guest/bench.sh "$@" >"$out/guest.log" 2>&1 &
vm=$!
# Progress: the guest announces each measurement.
tail -f "$out/guest.log" --pid=$vm 2>/dev/null | grep --line-buffered '^bench:' &
wait $vm || { tail -n 30 "$out/guest.log" >&2; die "the benchmark VM failed"; }
accel=$(sed -n 's/.*vm (.*, \(kvm\|tcg\)).*/\1/p' "$out/guest.log" | tail -n 1)
python3 "$here/bench_report.py" "$top/build/vm-$KERNEL/results.log" "$out" "$accel" || exit 1
echo
echo "Files: $out/bench.csv $out/bench.md $out/ops_vs_n.png $out/cpu_vs_delay.png $out/batch.png"
