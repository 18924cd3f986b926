#!/bin/sh
# The harness never hangs silently: a guest hung on purpose (every CPU
# spinning with interrupts off, tests/harness/hang/kbank_hang.c) must make vm.sh
# give up after its -i silence, and print the step that was running, every
# CPU's backtrace (kbank_hang_spin in them) and what the user can do; a
# kernel that fails its own boot is booted once more, and says so. One
# TAP line each, then "N passed, N failed". The stock kernel only: the
# module is built against it. make check-hang; about 45 s on 2 busy cores
# (boot, 2 s, the 5 s of silence, the NMI), too long for make check.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/lib.sh"
"$top/scripts/targets/setup.sh" demo || exit 1
out="$top/build/hung-guest"
rm -rf "$out"
mkdir -p "$out"

if [ "${KERNEL:-stock}" != stock ]; then
	echo "ok - hung guest diagnosed # SKIP the stock kernel's test"
	echo "0 passed, 0 failed"
	exit 0
fi
kenv=$("$top/scripts/kernels/kernel.sh") ||
	{ echo "not ok - hung guest: a kernel to boot"; echo "0 passed, 1 failed"; exit 1; }
eval "$kenv"
cp "$here/hang/kbank_hang.c" "$here/hang/Kbuild" "$out/"
if ! make -s -C "$KDIR" M="$out" modules >"$out/build.log" 2>&1; then
	echo "not ok - hung guest: kbank_hang.ko builds"
	sed 's/^/#   /' "$out/build.log"
	echo "0 passed, 1 failed"
	exit 1
fi

start=$(date +%s)
KBANK_EXTRA_KO="$out/kbank_hang.ko" KBANK_RERUN="make check-hang" \
	"$top/scripts/vm/vm.sh" -t 300 -i 5 -- /kbank/guest/hang.sh all \
	>"$out/stdout" 2>"$out/stderr"
rc=$?
secs=$(( $(date +%s) - start ))
diag="$top/build/vm-stock/hang.log"
passed=0 failed=0
check() {
	if "$@"; then
		echo "ok - hung guest: $desc"
		passed=$((passed + 1))
	else
		echo "not ok - hung guest: $desc"
		failed=$((failed + 1))
	fi
}
desc="vm.sh fails the run after 5 s of silence, not its 300 s limit ($secs s in all)"
check sh -c '[ $0 != 0 ] && grep -q "^not ok - .*# hung: no output for 5 s" "$1"' "$rc" "$out/stdout"
desc="the diagnosis names the step that was running"
check grep -q "the step that was running: hang: insmod kbank_hang.ko" "$out/stderr"
desc="the diagnosis holds both CPUs' backtraces, in kbank_hang_spin"
check sh -c '[ "$(grep -c "^  | NMI backtrace for cpu [01]\$" "$0")" = 2 ] &&
	[ "$(grep -c "RIP: 0010:kbank_hang_spin" "$0")" = 2 ]' "$out/stderr"
desc="the diagnosis says what to do and which log to attach"
check grep -q "what to do: run make check-hang again.*attach .*hang.log" "$out/stderr"
desc="build/vm-stock/hang.log keeps the diagnosis"
check grep -q "the guest hung: no output for 5 s" "$diag"
desc="a guest that hung once bank.ko was loaded is not booted again"
check sh -c '! grep -q "booting it again" "$0"' "$out/stdout"
if [ $failed != 0 ]; then
	echo "# what vm.sh printed:"
	sed 's/^/#   /' "$out/stdout" "$out/stderr"
fi

# A kernel that fails its own boot, before /init loads bank.ko (here: an
# init that does not exist, so the kernel panics looking for a root), is
# booted once more, and the second failure is reported as any other.
f=$passed
KBANK_KCMDLINE="rdinit=/kbank-no-such-init" KBANK_RERUN="make check-hang" \
	"$top/scripts/vm/vm.sh" -t 120 -- /bin/true \
	>"$out/boot.stdout" 2>"$out/boot.stderr"
rc=$?
desc="a boot that fails before bank.ko is loaded is booted once more, and says why"
check sh -c '[ "$(grep -c "^# vm.sh: the kernel failed at its boot, before bank.ko was loaded (Kernel panic.*); booting it again, once" "$0")" = 1 ]' "$out/boot.stdout"
desc="its second failure fails the run, with the console shown"
check sh -c '[ $0 != 0 ] && grep -q "^not ok - .*# panic or crash" "$1" &&
	grep -q "Kernel panic" "$2"' "$rc" "$out/boot.stdout" "$out/boot.stderr"
if [ $passed != $((f + 2)) ]; then
	echo "# what vm.sh printed:"
	sed 's/^/#   /' "$out/boot.stdout" "$out/boot.stderr"
fi
echo "$passed passed, $failed failed"
[ $failed = 0 ]
