#!/bin/sh
# make check (KERNEL=debug: make check-debug): set up the machine, lint, the
# ABI of the Python port, where chroots and images get Debian from (made-up
# apt configurations), the trace reader against recorded and doctored
# traces, the docs' code excerpts against the source, the whole suite in
# the running kernel or in the VM (lib.sh's run_path: native where modules
# load, else QEMU; then an 8-CPU VM for the tests that need it), the README's
# sessions typed into make vm-shell. Every check prints one TAP line; the
# run ends with "N passed, N failed" and fails if N > 0. KERNEL=sanitize
# (make check-sanitize) adds scripts/guest/sanitize.sh: the fuzz (SEED,
# FUZZ_SECONDS per lock mode), fail-nth and kmemleak.
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"

# What this kernel needs: the debug kernels are built here, an extra
# kernel's release chroot is made here.
case ${KERNEL:-stock} in
stock | 6.1) profiles=check ;;
debug | sanitize) profiles="check debug" ;;
*) profiles="check matrix" ;;
esac
"$scripts/targets/setup.sh" $profiles || exit 1
if [ "$(run_path)" = native ]; then
	msg "native run: the running kernel $(uname -r), no QEMU"
else
	msg "QEMU run: kernel ${KERNEL:-stock} in a VM"
fi
mkdir -p "$top/build"
log="$top/build/check-${KERNEL:-stock}.log"
case ${KERNEL:-stock} in
stock) rerun="make check" ;;
debug) rerun="make check-debug" ;;
sanitize) rerun="make check-sanitize" ;;
*) rerun="KERNEL=$KERNEL make check" ;;
esac
start=$(date +%s)

# The kernel first (an extra one is fetched now): one the archive no longer
# serves is skipped with the reason, not failed.
kenv=$("$scripts/kernels/kernel.sh")
rc=$?
if [ $rc = 77 ]; then
	echo "ok - kernel ${KERNEL:-stock} # SKIP ${kenv#SKIP: }" | tee "$log"
	echo "# ${KERNEL:-stock} kernel: skipped"
	echo "0 passed, 0 failed"
	exit 0
elif [ $rc != 0 ]; then
	echo "not ok - kernel ${KERNEL:-stock} ready to boot" | tee "$log"
	echo "0 passed, 1 failed"
	exit 1
fi

# A phase that fails without saying which check failed still counts as one.
phase() {
	name=$1
	shift
	( "$@" 2>&1; echo $? >"$log.rc" ) | tee "$log.phase"
	rc=$(cat "$log.rc")
	if [ $rc != 0 ] && ! grep -q '^not ok' "$log.phase"; then
		echo "not ok - $name (exit status $rc)"
	fi
}

{
	phase lint "$scripts/targets/lint.sh"
	phase abi "$top/tests/abi/abi_check.sh"
	phase apt-archive "$top/tests/harness/apt_archive_test.sh"
	phase reader python3 "$top/tests/reader/bank_trace_test.py"
	phase excerpts python3 "$top/tests/docs/doc_excerpts.py"
	phase harness-doc sh "$top/tests/docs/harness_doc.sh"
	if [ "$(run_path)" = native ]; then
		phase suite "$scripts/targets/native.sh" check.sh
	else
		# -i 660: the suite's programs print a line per test and variant,
		# and stop one at its own timeout, 600 s for the longest: their
		# silence is bounded by that (227 s seen, perf lock contention
		# on a loaded host).
		phase suite env KBANK_RERUN="$rerun" "$scripts/vm/vm.sh" -t 1200 -i 660 \
			-- /kbank/guest/check.sh
		# The tests that need more CPUs than the suite's two.
		phase spinners env KBANK_SMP=8 KBANK_RERUN="$rerun" "$scripts/vm/vm.sh" -t 300 -- \
			/kbank/guest/check.sh spinlock_one_spinner_at_a_time
	fi
	# The sanitizer kernel: the fuzz, fail-nth and kmemleak.
	if [ "${KERNEL:-}" = sanitize ]; then
		phase sanitize env KBANK_RERUN="$rerun" "$scripts/vm/vm.sh" -t 1800 -i 660 \
			-- /kbank/guest/sanitize.sh \
			"${SEED:-$(date +%s)}" "${FUZZ_SECONDS:-15}"
	fi
	# The README shows the stock kernel's VM (make vm-shell), with python3
	# over 9p.
	if [ "$(run_path)" = native ]; then
		echo "ok - README sessions # SKIP they show kbank's VM, not this machine"
	elif [ "${KERNEL:-stock}" = stock ]; then
		phase readme python3 "$top/tests/docs/readme_session.py"
	else
		echo "ok - README sessions # SKIP the README shows the stock kernel's VM"
	fi
} | tee "$log"
rm -f "$log.phase" "$log.rc"

passed=$(grep -E '^ok ' "$log" | grep -vc '# SKIP')
skipped=$(grep -E '^ok ' "$log" | grep -c '# SKIP')
failed=$(grep -c '^not ok' "$log")
echo "# ${KERNEL:-stock} kernel: $skipped skipped, $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
