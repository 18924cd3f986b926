#!/bin/sh
# Build the guest's initramfs: busybox-static, scripts/guest/, the module
# and the statically linked programs and tests.
#   initramfs.sh OUT.cpio.gz BINDIR KO_DIR MODDIR PARAMS [EXTRADIR]
# BINDIR holds the static programs; KO_DIR the built .ko files; MODDIR the
# kernel's modules for 9p (empty: no 9p); PARAMS the bank.ko parameters;
# LABDIR the lab's student modules (vm.sh), copied to /kbank/lab.
# From vm.sh, for a guest of another architecture: KBANK_BUSYBOX, the busybox
# to copy (default: the machine's); KBANK_RESULTS_TTY, the results port
# (default ttyS1); KBANK_GUEST_MODS, more of the kernel's modules to load
# first (its driver); KBANK_REPO_SHARE=1, the repository is a 9p share of
# its own (tag kbankrepo), to mount at its path in the shared root.
set -eu
scripts=$(cd "$(dirname "$0")/.." && pwd)
. "$scripts/lib.sh"

out=$1 bindir=$2 kodir=$3 moddir=$4 params=$5 extradir=${6:-}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" \
	"$root/etc" "$root/kbank/bin" "$root/kbank/guest"
cp "${KBANK_BUSYBOX:-/bin/busybox}" "$root/bin/busybox"
cp "$scripts/guest/init" "$root/init"
cp "$scripts/guest/profile" "$root/etc/profile"
cp "$scripts/guest/python3" "$root/kbank/bin/python3"
cp "$scripts/guest/host-tool" "$root/kbank/bin/trace-cmd"
cp "$scripts/guest/host-tool" "$root/kbank/bin/perf"
cp "$scripts"/guest/*.sh "$root/kbank/guest/" 2>/dev/null || true
cp "$bindir"/* "$root/kbank/bin/"
cp "$kodir"/*.ko "$root/kbank/"
chmod +x "$root/init"
[ -n "$extradir" ] && [ -d "$extradir" ] && cp -R "$extradir" "$root/kbank/extra"

{
	printf 'KBANK_PARAMS=%s\n' "'$params'"
	printf 'KBANK_REPO=%s\n' "'$(cd "$scripts/.." && pwd)'"
	# Which kernel (KERNEL=, as kernel.sh names it): some tests depend on it.
	printf 'KBANK_KERNEL=%s\n' "'${KERNEL:-stock}'"
	printf 'KBANK_RESULTS_TTY=%s\n' "'${KBANK_RESULTS_TTY:-ttyS1}'"
	printf 'KBANK_REPO_SHARE=%s\n' "'${KBANK_REPO_SHARE:-}'"
} >"$root/kbank/env"

if [ -n "$moddir" ]; then
	mkdir -p "$root/kbank/mods"
	kver=${moddir##*/}
	base=${moddir%/lib/modules/*}
	# virtio-pci carries 9p's transport; modprobe lists each in load order.
	for m in ${KBANK_GUEST_MODS:-} virtio_pci 9pnet_virtio 9p; do
		modprobe -d "${base:-/}" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r ko; do
		# Newer Debian kernels ship modules compressed: busybox wants .ko.
		name=${ko##*/}
		case $name in
		*.ko.xz)  xz -dc "$ko" >"$root/kbank/mods/${name%.xz}" ;;
		*.ko.zst) zstd -qdc "$ko" >"$root/kbank/mods/${name%.zst}" ;;
		*)        cp "$ko" "$root/kbank/mods/" ;;
		esac
		echo "${name%.ko*}.ko" >>"$root/kbank/mods.list"
	done
fi

(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out"
