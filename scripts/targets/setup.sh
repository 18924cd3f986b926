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

# The QEMU path (lib.sh's run_path), profile by profile:
# qemu-system-x86, the stock kernel and its headers: the VM and the module.
# busybox-static, cpio: the guest's initramfs. kmod: modprobe's dependency
# lists for 9p. gcc, make, libc6-dev: the programs, linked statically.
# python3: the notebook, run in the guest from the host's root over 9p, the
# trace drawings, and the monitor client that diagnoses a hung guest.
qemu_pkgs() {
	case $1 in
	demo) echo "qemu-system-x86 linux-image-amd64 linux-headers-amd64
		busybox-static cpio kmod gcc make libc6-dev python3" ;;
	# gcc-multilib: the 32-bit programs (the compat ioctl path). trace-cmd
	# and linux-perf, run in the guest from the host's root: trace-cmd
	# records bank.ko's events, perf lock contention names bank's mutex
	# waits (the README). python3 also replays the README's sessions.
	check) echo "$(qemu_pkgs demo) $(qemu_pkgs lint) gcc-multilib trace-cmd linux-perf" ;;
	# linux-source-6.1: checkpatch.pl, unpacked from its tarball.
	# The stock kernel's image too: kernel.sh picks the kernel by it.
	lint) echo "gcc make libc6-dev linux-image-amd64 linux-headers-amd64 sparse
		linux-source-6.1" ;;
	# gnuplot-nox: the plots.
	bench) echo "$(qemu_pkgs demo) gnuplot-nox" ;;
	# The debug kernel is built from linux-source-6.1; dwarves: pahole.
	debug) echo "$(qemu_pkgs demo) linux-source-6.1 flex bison bc libelf-dev
		libssl-dev dwarves" ;;
	# patch: check-lab applies the typical mistakes to the solved copy.
	lab) echo "$(qemu_pkgs debug) patch" ;;
	# mmdebstrap: each extra kernel's release chroot; xz-utils and zstd:
	# newer kernels' compressed modules, unpacked for the initramfs.
	matrix) echo "$(qemu_pkgs check) mmdebstrap xz-utils zstd" ;;
	# The system image: mmdebstrap, then mkfs.ext4 (e2fsprogs), booted
	# through a qcow2 overlay (qemu-utils); git lists what a clone holds.
	distro) echo "qemu-system-x86 mmdebstrap qemu-utils e2fsprogs cpio git" ;;
	*) return 1 ;;
	esac
}
# The native path, in the running kernel: its headers, the compiler, sparse
# and linux-source (checkpatch) for lint, python3 for the notebook, the
# 32-bit libc for the compat test where the machine is amd64. The debug,
# matrix and distro kernels always run in QEMU (run_path is qemu for them).
native_pkgs() {
	case $1 in
	demo | bench) echo "linux-headers-$(uname -r) gcc make libc6-dev kmod python3" ;;
	lint) echo "linux-headers-$(uname -r) gcc make libc6-dev sparse linux-source" ;;
	check)
		echo "$(native_pkgs demo) $(native_pkgs lint)"
		[ "$(dpkg --print-architecture 2>/dev/null)" != amd64 ] || echo gcc-multilib ;;
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
