#!/bin/sh
# Install the Debian packages a kbank target needs, and nothing when they
# are all there. Not root: print the one command to run, and fail.
#
#   setup.sh [PROFILE...]     default: all
#
# Each target names what it needs, so that a first `make demo` installs the
# demo's packages alone, and a later target installs the rest when it first
# runs:
#   demo    make demo, make vm-shell, make fuzz, make lab-demo
#   check   make check: demo's, lint's, the 32-bit build, trace-cmd, perf
#   lint    make lint: checkpatch (linux-source), sparse
#   bench   make bench: demo's, gnuplot
#   debug   the debug and sanitizer kernels (make check-debug, demo-kcsan,
#           demo-deadlock): linux-source and the kernel's build tools
#   lab     make grade, make check-lab: demo's, debug's, patch
#   matrix  make check-matrix: check's, mmdebstrap for the release chroots
#   distro  make check-distro: QEMU, mmdebstrap and the disk image tools
#   all     every one of them (CI)
set -eu
scripts=$(cd "$(dirname "$0")/.." && pwd)
. "$scripts/lib.sh"

# The QEMU path (lib.sh's run_path), profile by profile, for the machine's
# architecture (dpkg --print-architecture): amd64 boots an amd64 guest,
# arm64 an arm64 one.
# qemu-system-x86 (-arm on arm64), the stock kernel and its headers: the VM
# and the module. busybox-static, cpio: the guest's initramfs. kmod:
# modprobe's dependency lists for 9p. gcc, make, libc6-dev: the programs,
# linked statically. python3: the notebook, run in the guest from the host's
# root over 9p, the trace drawings, and the monitor client that diagnoses a
# hung guest.
arch=$(dpkg --print-architecture)
case $arch in
arm64) qemu="qemu-system-arm"
	# armhf processes: arm64's compat ioctl path, linked statically.
	compat="gcc-arm-linux-gnueabihf libc6-dev-armhf-cross" ;;
*) qemu="qemu-system-x86" compat="gcc-multilib" ;;
esac
qemu_pkgs() {
	case $1 in
	demo) echo "$qemu linux-image-$arch linux-headers-$arch
		busybox-static cpio kmod gcc make libc6-dev python3" ;;
	# gcc-multilib (amd64) or the armhf cross compiler (arm64): the 32-bit
	# programs (the compat ioctl path). trace-cmd
	# and linux-perf, run in the guest from the host's root: trace-cmd
	# records bank.ko's events, perf lock contention names bank's mutex
	# waits (the README). python3 also replays the README's sessions.
	check) echo "$(qemu_pkgs demo) $(qemu_pkgs lint) $compat trace-cmd linux-perf" ;;
	# linux-source-6.1: checkpatch.pl, unpacked from its tarball.
	# The stock kernel's image too: kernel.sh picks the kernel by it.
	lint) echo "gcc make libc6-dev linux-image-$arch linux-headers-$arch sparse
		linux-source-6.1" ;;
	# gnuplot-nox: the plots.
	bench) echo "$(qemu_pkgs demo) gnuplot-nox" ;;
	# The debug kernel is built from linux-source-6.1; dwarves: pahole.
	debug) echo "$(qemu_pkgs demo) linux-source-6.1 flex bison bc libelf-dev
		libssl-dev dwarves" ;;
	# patch: check-lab applies the typical mistakes to the solved copy.
	lab) echo "$(qemu_pkgs debug) patch" ;;
	# mmdebstrap: each extra kernel's release chroot; xz-utils and zstd:
	# newer kernels' compressed modules, unpacked for the initramfs. On
	# amd64, the arm64 row: its chroot runs through qemu-user-static
	# (arch-test: mmdebstrap's check that it does), its guest in
	# qemu-system-arm, its programs built in its chroot (Debian's cross
	# compilers would conflict with gcc-multilib).
	matrix) echo "$(qemu_pkgs check) mmdebstrap xz-utils zstd"
		[ "$arch" != amd64 ] || echo "qemu-system-arm qemu-user-static arch-test" ;;
	# The system image: mmdebstrap, then mkfs.ext4 (e2fsprogs), booted
	# through a qcow2 overlay (qemu-utils); git lists what a clone holds.
	distro) echo "$qemu mmdebstrap qemu-utils e2fsprogs cpio git" ;;
	*) return 1 ;;
	esac
}
# The native path, in the running kernel: its headers, the compiler, sparse
# and linux-source (checkpatch) for lint, python3 for the notebook, the
# 32-bit compiler for the compat test (gcc-multilib on amd64, the armhf
# cross compiler on arm64). The debug,
# matrix and distro kernels always run in QEMU (run_path is qemu for them).
native_pkgs() {
	case $1 in
	demo | bench) echo "linux-headers-$(uname -r) gcc make libc6-dev kmod python3" ;;
	lint) echo "linux-headers-$(uname -r) gcc make libc6-dev sparse linux-source" ;;
	check)
		echo "$(native_pkgs demo) $(native_pkgs lint)"
		case $arch in amd64 | arm64) echo "$compat" ;; esac ;;
	*) qemu_pkgs "$1" ;;
	esac
}

[ $# != 0 ] || set -- all
[ "$*" != all ] || set -- demo check lint bench debug lab matrix distro
pkgs=""
for profile in "$@"; do
	if [ "$(run_path)" = native ]; then
		p=$(native_pkgs "$profile") || die "unknown profile $profile: demo, check, lint, bench, debug, lab, matrix, distro or all"
	else
		p=$(qemu_pkgs "$profile") || die "unknown profile $profile: demo, check, lint, bench, debug, lab, matrix, distro or all"
	fi
	pkgs="$pkgs $p"
done

missing=""
for p in $(printf '%s\n' $pkgs | awk '!seen[$0]++'); do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q '^install ok installed$' || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ]; then
	msg "missing packages ($*); as root, run:"
	echo "apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

msg "installing ($*):$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update once, then retry.
if ! apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
