#!/bin/sh
# Pick the kernel a VM boots and the module builds against, and print it as
# shell assignments (eval them):
#   KVER     the kernel release, as `uname -r` prints it in the guest
#   VMLINUZ  the image QEMU boots
#   KDIR     the build tree the module is built with
#   MODDIR   the kernel's own modules (for 9p), or empty when all is built in
#
# KERNEL=stock (the default): the newest installed Debian image whose headers
# are installed too, so that image, headers and module always match; on the
# native path (lib.sh's run_path), the running kernel.
# KERNEL=debug: the debug kernel of scripts/kernels/debug-kernel.sh; KERNEL=sanitize
# its second flavour (KASAN, UBSAN, kmemleak, fault injection).
# KERNEL=bullseye, trixie-rt, sid, experimental...: the matrix's extra
# kernels (`scripts/kernels/extra-kernel.sh --list`), each with a chroot of its own
# release to build the module in (CHROOT, KDIR inside it), fetched into
# kbank's cache on first use; exits 77 with "SKIP: reason" when the archive
# no longer serves it. KERNEL=6.1 is the stock kernel.
set -eu
scripts=$(cd "$(dirname "$0")/.." && pwd)
. "$scripts/lib.sh"

case "${KERNEL:-stock}" in
stock|6.1|"")
	if [ "$(run_path)" = native ]; then
		# The native path: the running kernel, no image to boot.
		kver=$(uname -r)
		echo "KVER=$kver"
		echo "VMLINUZ="
		echo "KDIR=/lib/modules/$kver/build"
		echo "MODDIR=/lib/modules/$kver"
		echo "CHROOT="
		exit 0
	fi
	kver=""
	for img in $(ls /boot/vmlinuz-* 2>/dev/null | sort -V); do
		v=${img#/boot/vmlinuz-}
		case "$v" in *-rt-*) continue ;; esac
		[ -f "/lib/modules/$v/build/Makefile" ] && kver=$v
	done
	[ -n "$kver" ] || die "no /boot/vmlinuz-* with its headers in /lib/modules/*/build: run scripts/targets/setup.sh"
	echo "KVER=$kver"
	echo "VMLINUZ=/boot/vmlinuz-$kver"
	echo "KDIR=/lib/modules/$kver/build"
	echo "MODDIR=/lib/modules/$kver"
	echo "CHROOT="
	;;
debug|sanitize)
	src=$("$scripts/kernels/debug-kernel.sh" "$KERNEL")
	echo "KVER=$(cat "$src/include/config/kernel.release")"
	echo "VMLINUZ=$src/arch/x86/boot/bzImage"
	echo "KDIR=$src"
	echo "MODDIR="
	echo "CHROOT="
	;;
*)
	"$scripts/kernels/extra-kernel.sh" "$KERNEL"
	;;
esac
