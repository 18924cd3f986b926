#!/bin/sh
# The disk image of check-distro: a full Debian system (systemd, udev, dkms,
# build-essential, the distribution's kernel and its headers, python3, and
# what the native make check uses: sparse, gcc-multilib, linux-source) made
# with mmdebstrap from the archive the machine's apt uses (apt-archive.sh),
# written to an ext4 image with mkfs.ext4 -d, cached in
# $KBANK_CACHE/distro/SUITE, and reused until deleted.
#
#   distro-image.sh SUITE          bookworm, trixie, sid...
#
# Prints IMAGE, VMLINUZ, INITRD and KVER assignments. At boot, the unit
# kbank-distro.service mounts the 9p share tagged "kbank" (the repository)
# and runs its scripts/guest/distro-steps.sh. Built in SUITE.tmp and renamed into
# place when complete, so an interrupted build is redone. Needs root.
set -eu
scripts=$(cd "$(dirname "$0")/.." && pwd)
. "$scripts/lib.sh"

suite=${1:?usage: distro-image.sh SUITE}
dir="$KBANK_CACHE/distro/$suite"
if [ -f "$dir/env" ]; then
	cat "$dir/env"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "the $suite image needs root (mmdebstrap)"
command -v mmdebstrap >/dev/null || die "mmdebstrap missing: apt-get install mmdebstrap"
command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 missing: apt-get install e2fsprogs"
mkdir -p "$KBANK_CACHE/distro"
exec 9>"$KBANK_CACHE/distro/.$suite.lock"
flock 9
if [ -f "$dir/env" ]; then
	cat "$dir/env"
	exit 0
fi

tmp="$dir.tmp"
log="$KBANK_CACHE/distro/$suite.log"
rm -rf --one-file-system "$tmp"
mkdir -p "$tmp"
start=$(date +%s)
msg "making the $suite system image in $dir (log: $log); a few minutes"

cat >"$tmp/kbank-distro.service" <<'UNIT'
[Unit]
Description=kbank check-distro: the README's own-VM steps
After=local-fs.target systemd-udevd.service systemd-udev-trigger.service
Wants=systemd-udevd.service

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'modprobe -a 9pnet_virtio 9p; mkdir -p /mnt/kbank && mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=524288 kbank /mnt/kbank && exec /bin/sh /mnt/kbank/scripts/guest/distro-steps.sh; echo "KBANK-DISTRO-END no repository over 9p" >/dev/ttyS1; poweroff -f'
StandardOutput=journal+console
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
UNIT

# Debian from the archive, proxy and apt options this machine's apt uses.
. "$scripts/kernels/apt-archive.sh"
sources=$(apt_archive_sources "$suite")
aptconf=$(apt_archive_conf)
set +e
unshare -m --propagation private timeout --foreground 2400 mmdebstrap --variant=apt --mode=root \
	--aptopt="$aptconf" \
	--include=systemd-sysv,udev,kmod,dkms,build-essential,linux-image-amd64,linux-headers-amd64,python3,passwd,sparse,gcc-multilib,linux-source,procps,lsof \
	--customize-hook="cp '$tmp/kbank-distro.service' \"\$1/etc/systemd/system/\"" \
	--customize-hook='chroot "$1" systemctl enable kbank-distro.service' \
	--customize-hook='echo kbank-distro >"$1/etc/hostname"' \
	--customize-hook='echo "/dev/vda / ext4 defaults 0 1" >"$1/etc/fstab"' \
	--customize-hook='for t in "$1"/usr/src/linux-source-*.tar.xz; do s=$(basename "$t" .tar.xz); mkdir -p "$1/root/.cache/kbank/checkpatch" && tar -C "$1/root/.cache/kbank/checkpatch" -xJf "$t" "$s/scripts/checkpatch.pl" "$s/scripts/spelling.txt" "$s/scripts/const_structs.checkpatch"; done' \
	"$suite" "$tmp/root" "$sources" >"$log" 2>&1
rc=$?
set -e
if [ $rc != 0 ]; then
	# A release Debian moved to its archive of old releases: what to set.
	gone=$(apt_archive_gone "$log") && die "$gone"
	tail -n 20 "$log" >&2
	die "mmdebstrap of the $suite system failed (log: $log)"
fi

# The kernel and initrd QEMU boots, from the system's own /boot (from 7.x
# the image is /usr/lib/modules/<ver>/vmlinuz).
kver=$(ls "$tmp/root/lib/modules" | sort -V | tail -n 1)
vmlinuz=""
for v in "$tmp/root/boot/vmlinuz-$kver" "$tmp/root/usr/lib/modules/$kver/vmlinuz"; do
	[ -f "$v" ] && { vmlinuz=$v; break; }
done
[ -n "$vmlinuz" ] && [ -f "$tmp/root/boot/initrd.img-$kver" ] ||
	die "$suite: no kernel image or initrd for $kver in the system"
cp "$vmlinuz" "$tmp/vmlinuz"
cp "$tmp/root/boot/initrd.img-$kver" "$tmp/initrd.img"
mkfs.ext4 -q -d "$tmp/root" -L kbank "$tmp/root.img" 6G >>"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; die "mkfs.ext4 of the $suite image failed (log: $log)"; }
rm -rf --one-file-system "$tmp/root" "$tmp/kbank-distro.service"
{
	echo "IMAGE=$dir/root.img"
	echo "VMLINUZ=$dir/vmlinuz"
	echo "INITRD=$dir/initrd.img"
	echo "KVER=$kver"
} >"$tmp/env"
mv -T "$tmp" "$dir"
msg "$suite system image ($kver) ready in $(( $(date +%s) - start )) s"
cat "$dir/env"
