#!/bin/sh
# The native path of make demo and make check, for a machine that can load
# modules (a student's VM, a teacher's laptop): run one of the VM's guest
# scripts in the running kernel, without QEMU.
#
#   native.sh SCRIPT [ARGS...]      SCRIPT: check.sh, demo.sh (scripts/guest/)
#
# Builds bank.ko for the running kernel and the programs, loads bank.ko with
# KBANK_PARAMS, runs the script with what scripts/guest/init gives it in the
# VM (the programs first in PATH, KBANK_KO for the suite's reloads,
# KBANK_REPO, KBANK_PYTHON), then unloads bank.ko, however the script ends.
# Refuses when bank.ko is already loaded or /dev/bank exists, and leaves the
# machine as it found it: nothing installed, nothing left loaded. The kernel
# log from the start of the run must be as clean as in the VM (lib.sh's
# kernel_log_problems); one TAP line says so.
set -eu
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"

script=${1:?usage: native.sh SCRIPT [ARGS...]}
shift
kver=$(uname -r)
kdir=/lib/modules/$kver/build
label="native (running kernel $kver)"

[ -e /proc/modules ] || die "this kernel cannot load modules: the VM path runs instead (KBANK_RUN=qemu)"
[ "$(id -u)" = 0 ] ||
	die "the native run loads bank.ko into the running kernel: run it as root (sudo make ...), or KBANK_RUN=qemu for QEMU"
[ -f "$kdir/Makefile" ] ||
	die "no headers for the running kernel: apt-get install linux-headers-$kver (or KBANK_RUN=qemu for QEMU)"
if [ -e /sys/module/bank ]; then
	users=$(cat /sys/module/bank/refcnt 2>/dev/null || echo 0)
	[ "$users" = 0 ] ||
		die "bank.ko is loaded and /dev/bank is in use ($users open): end those processes (lsof /dev/bank names them), rmmod bank, then run this again"
	die "bank.ko is already loaded: rmmod bank first; this run loads its own build and unloads it afterwards"
fi
[ ! -e /dev/bank ] || die "/dev/bank exists but bank.ko is not loaded: something else owns that name"

msg "native run in the running kernel $kver, no QEMU (KBANK_RUN=qemu for the VM)"
dir="$top/build/native"
mkdir -p "$dir"
make -s -C "$top" module KDIR="$kdir" >"$dir/build.log" 2>&1 ||
	{ cat "$dir/build.log" >&2; die "module build failed"; }
make -s -C "$top" progs OUT="$dir/bin" >>"$dir/build.log" 2>&1 ||
	{ cat "$dir/build.log" >&2; die "program build failed"; }
# The 32-bit test program, for the compat ioctl path, where it builds
# (lib.sh's compat_make: -m32 on amd64, armhf on arm64).
rm -f "$dir"/bin/suite-*32
if compat_make top_make "$(dpkg --print-architecture)" "$dir/bin32" \
	>>"$dir/build.log" 2>&1; then
	for p in "$dir"/bin32/suite-*; do
		cp "$p" "$dir/bin/${p##*/}32"
	done
fi

KBANK_KO="$top/module/bank.ko"
KBANK_PARAMS=${KBANK_PARAMS:-}
KBANK_REPO=$top
KBANK_PYTHON=$(command -v python3 || true)
KBANK_TAINT_BEFORE=$(cat /proc/sys/kernel/tainted)
PATH="$dir/bin:$PATH"
export KBANK_KO KBANK_PARAMS KBANK_REPO KBANK_PYTHON KBANK_TAINT_BEFORE PATH

# The kernel log of this run starts at this line.
marker="kbank: native run $$ $(date +%s) begins"
echo "$marker" >/dev/kmsg

unload() {
	for m in bank_logic_test bank; do
		[ ! -e /sys/module/$m ] || rmmod $m ||
			msg "could not unload $m: see lsmod, then rmmod $m"
	done
}
trap unload EXIT
trap 'exit 130' INT TERM
status=0
# shellcheck disable=SC2086 # KBANK_PARAMS is a list of parameters.
insmod "$KBANK_KO" $KBANK_PARAMS || die "insmod $KBANK_KO $KBANK_PARAMS failed"
"$scripts/guest/$script" "$@" || status=$?
unload
trap - EXIT

dmesg | awk -v m="$marker" 'index($0, m) { on = 1 } on' >"$dir/dmesg.log"
problems=$(kernel_log_problems "$dir/dmesg.log")
if [ -e /sys/module/bank ]; then
	echo "not ok - $label: bank.ko unloaded after the run"
	exit 1
fi
if [ ! -s "$dir/dmesg.log" ]; then
	echo "not ok - $label: the run's kernel log read back (dmesg)"
	exit 1
fi
if [ -n "$problems" ]; then
	echo "not ok - $label: kernel log clean"
	msg "the kernel logged problems (full log: $dir/dmesg.log):"
	printf '%s\n' "$problems" >&2
	exit 1
fi
echo "ok - $label: bank.ko loaded, run and unloaded, kernel log clean"
exit "$status"
