#!/bin/sh
# Install the Debian packages kbank's VM targets need, and nothing when they
# are all there. Not root: print the one command to run, and fail.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# The QEMU path (lib.sh's run_path):
# qemu-system-x86, the stock kernel and its headers: the VM and the module.
# busybox-static, cpio: the guest's initramfs. kmod: modprobe's dependency
# lists for 9p. gcc, make, libc6-dev, gcc-multilib: the programs, static and
# 32-bit. sparse, linux-source-6.1: lint (checkpatch) and the debug kernel,
# with flex, bison, bc, libelf-dev and libssl-dev to build it. python3: the
# notebook, run in the guest from the host's root over 9p, and the test that
# replays the README's sessions (tests/readme_session.py). gnuplot-nox: plots.
# dwarves: pahole, which newer kernels' module builds run. trace-cmd: run in
# the guest from the host's root, it records bank.ko's trace events, and
# linux-perf's perf lock contention names bank's mutex waits (the README).
# mmdebstrap, qemu-utils, e2fsprogs: the matrix's chroots and check-distro's
# disk image.
pkgs="qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static cpio
kmod gcc make libc6-dev gcc-multilib sparse linux-source-6.1 flex bison bc
libelf-dev libssl-dev python3 gnuplot-nox dwarves trace-cmd linux-perf
mmdebstrap qemu-utils e2fsprogs"
# The native path, in the running kernel: its headers, the compiler, sparse
# and linux-source (checkpatch) for lint, python3 for the notebook, the
# 32-bit libc for the compat test where the machine is amd64.
if [ "$(run_path)" = native ]; then
	pkgs="linux-headers-$(uname -r) gcc make libc6-dev kmod sparse linux-source python3"
	[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] && pkgs="$pkgs gcc-multilib"
fi

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		grep -q '^install ok installed$' || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ]; then
	msg "missing packages; as root, run:"
	echo "apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi

msg "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update once, then retry.
if ! apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1; then
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
