#!/bin/sh
# Fetch one extra kernel of the matrix into kbank's cache, with the module's
# build environment: a chroot of the kernel's own Debian release (mmdebstrap
# --variant=apt) holding that release's compiler, make, kmod, sparse, pahole
# and the kernel's headers, installed by apt the way Debian builds modules.
# The kernel image and its modules are downloaded in the chroot and unpacked
# (dpkg-deb -x) into /kbank-kernel inside it, for QEMU. Debian comes from
# the archive and proxy the machine's apt uses (apt-archive.sh); the
# machine's own package sources and installed packages are left alone.
#
#   extra-kernel.sh NAME      NAME: one of `extra-kernel.sh --list`
#
# Prints, like kernel.sh, KVER, VMLINUZ, KDIR, MODDIR, CHROOT and GUEST_ARCH
# assignments (KDIR is a path inside CHROOT: lib.sh's kmake builds there). The versions
# are whatever the release serves today. A release or flavour the archive no
# longer serves exits 77 with "SKIP: reason" on stdout: skipped, not failed.
#
# The cache, $KBANK_CACHE/chroots/NAME, is built in NAME.tmp and renamed into
# place when complete: an interrupted fetch leaves only a .tmp directory that
# the next run removes and redoes. Needs root (chroot, mounts).
set -eu
scripts=$(cd "$(dirname "$0")/.." && pwd)
. "$scripts/lib.sh"

# A kernel of another architecture than the machine's (arm64 on amd64) gets
# a chroot of its own architecture, run through qemu-user (binfmt_misc): the
# module and the static programs are built in it, its busybox goes into the
# initramfs, and vm.sh shares it with the guest over 9p instead of the
# machine's root (python3, trace-cmd and perf of the guest's architecture).
#
# name      suite         flavour   arch  (the kernel is the release's newest)
kernels="bullseye     bullseye      amd64     amd64
bookworm     bookworm      amd64     amd64
bookworm-rt  bookworm      rt-amd64  amd64
trixie       trixie        amd64     amd64
trixie-rt    trixie        rt-amd64  amd64
sid          sid           amd64     amd64
sid-rt       sid           rt-amd64  amd64
experimental experimental  amd64     amd64
arm64        bookworm      arm64     arm64"

if [ "${1:-}" = --list ]; then
	echo "$kernels" | awk '{ print $1 }'
	exit 0
fi
name=${1:?usage: extra-kernel.sh NAME (extra-kernel.sh --list names them)}
# The names of the first matrix, kept working.
case $name in
6.12) name=trixie ;;
6.1-rt) name=bookworm-rt ;;
esac
set -- $(echo "$kernels" | awk -v n="$name" '$1 == n { print $2, $3, $4 }')
[ $# = 3 ] || die "unknown extra kernel '$name' (one of: $(echo $("$0" --list)))"
suite=$1 flavour=$2 arch=$3
# Another architecture's chroot: its programs run through qemu-user.
include="gcc,make,libc6-dev,kmod,sparse,dwarves,bc,linux-headers-$flavour"
archopt=""
if [ "$arch" != "$(dpkg --print-architecture)" ]; then
	include="$include,busybox-static,python3,trace-cmd,linux-perf"
	# arm64's compat path from an armhf process: Debian's cross compiler,
	# here, since on amd64 gcc-multilib and the cross compilers conflict.
	[ "$arch" != arm64 ] ||
		include="$include,gcc-arm-linux-gnueabihf,libc6-dev-armhf-cross"
	archopt="--arch=$arch"
fi

dir="$KBANK_CACHE/chroots/$name"
if [ -f "$dir/env" ]; then
	cat "$dir/env"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "the $name kernel's chroot needs root (mmdebstrap, chroot)"
command -v mmdebstrap >/dev/null ||
	die "mmdebstrap missing: apt-get install mmdebstrap"
[ -z "$archopt" ] || binfmt_ready "$arch"
mkdir -p "$KBANK_CACHE/chroots"

# One fetch per kernel at a time; a second caller waits, then finds it done.
exec 9>"$KBANK_CACHE/chroots/.$name.lock"
flock 9
if [ -f "$dir/env" ]; then
	cat "$dir/env"
	exit 0
fi

# Debian from the archive, proxy and apt options this machine's apt uses
# (apt-archive.sh): experimental's kernel needs sid beside it.
. "$scripts/kernels/apt-archive.sh"
if [ "$suite" = experimental ]; then
	sources=$(apt_archive_sources sid experimental)
else
	sources=$(apt_archive_sources "$suite")
fi
aptconf=$(apt_archive_conf)

tmp="$dir.tmp"
log="$KBANK_CACHE/chroots/$name.log"
# What an interrupted run left: mounts died with its namespace, so this is
# plain files (--one-file-system all the same).
rm -rf --one-file-system "$tmp"
start=$(date +%s)
msg "making the $name chroot ($suite, linux-headers-$flavour) from $(echo "$sources" | awk 'NR == 1 { print $2 }') in $dir; log: $log"

# The kernel packages, and only they, come from experimental when it is
# listed (apt's default priority for it is 1).
pin='Package: linux-headers-* linux-image-* linux-kbuild-* linux-binary-* linux-modules-* linux-base-*
Pin: release a=experimental
Pin-Priority: 990'
set +e
# A private mount namespace: whatever mmdebstrap mounts dies with it.
unshare -m --propagation private timeout --foreground 1800 mmdebstrap --variant=apt --mode=root \
	$archopt --aptopt="$aptconf" \
	--setup-hook="printf '%s\n' '$pin' >\"\$1/etc/apt/preferences.d/kbank-kernel\"" \
	--include="$include" \
	--skip=cleanup/apt/lists \
	"$suite" "$tmp" "$sources" >"$log" 2>&1
rc=$?
set -e
if [ $rc != 0 ]; then
	# The archive no longer has the release (Debian moved it to its archive
	# of old releases): a skip that says which setting brings it back.
	if gone=$(apt_archive_gone "$log"); then
		rm -rf --one-file-system "$tmp"
		msg "$gone"
		echo "SKIP: $gone"
		exit 77
	fi
	# The archive no longer serves this flavour: a skip.
	reason=$(grep -E -m 1 "Unable to locate package linux-|has no installation candidate|does not have a Release file|Release' (is no longer signed|does not have)|404 +Not Found \[IP" "$log" || true)
	rm -rf --one-file-system "$tmp"
	if [ -n "$reason" ]; then
		echo "SKIP: $suite does not serve linux-headers-$flavour (${reason#E: })"
		exit 77
	fi
	tail -n 20 "$log" >&2
	die "mmdebstrap of $suite failed (log: $log)"
fi

# The headers installed exactly one kernel release: its image and modules.
# From 7.x, linux-image-<ver> is a meta package over linux-binary-<ver>
# (vmlinuz in /usr/lib/modules/<ver>) and linux-modules-<ver>: follow the
# dependencies that are kernel packages, download and unpack them.
in_chroot() { chroot "$tmp" "$@" >>"$log" 2>&1; }
pkgs="" todo="linux-image-$flavour"
while [ -n "$todo" ]; do
	set -- $todo
	[ $# -gt 0 ] || break
	p=$1
	shift
	todo="$*"
	case " $pkgs " in *" $p "*) continue ;; esac
	pkgs="$pkgs $p"
	todo="$todo $(chroot "$tmp" apt-cache depends "$p" | sed -n \
		's/^ *|\{0,1\}\(Pre\)\{0,1\}Depends: \(linux-\(image\|binary\|modules\|base\)-[^ <>]*\)$/\2/p')"
done
msg "$name: kernel packages:$pkgs"
rm -rf "$tmp/tmp/debs" "$tmp/kbank-kernel"
mkdir "$tmp/tmp/debs" "$tmp/kbank-kernel"
in_chroot sh -c 'cd /tmp/debs && apt-get download -q "$@"' sh $pkgs ||
	{ tail -n 20 "$log" >&2; die "downloading the $name kernel failed (log: $log)"; }
for deb in "$tmp"/tmp/debs/*.deb; do
	dpkg-deb -x "$deb" "$tmp/kbank-kernel"
done
rm -rf "$tmp/tmp/debs" "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/*.bin

# The release the headers were made for (one directory in lib/modules).
kver=$(ls "$tmp/lib/modules")
[ "$(echo "$kver" | wc -w)" = 1 ] || die "$name: expected one kernel in the chroot, found: $kver"
moddir=$(find "$tmp/kbank-kernel" -maxdepth 5 -type d -path "*/lib/modules/$kver/kernel" | head -n 1)
moddir=${moddir%/kernel}
[ -n "$moddir" ] || die "$name: no lib/modules/$kver in the kernel packages"
vmlinuz=""
for v in "$tmp/kbank-kernel/boot/vmlinuz-$kver" "$moddir/vmlinuz"; do
	[ -f "$v" ] && { vmlinuz=$v; break; }
done
[ -n "$vmlinuz" ] || die "$name: no vmlinuz in the kernel packages"
# modules.dep for initramfs.sh's modprobe --show-depends (the chroot's kmod
# reads the release's module compression).
base=${moddir%/lib/modules/*}
in_chroot depmod -b "${base#"$tmp"}" "$kver"

final_vmlinuz=$dir${vmlinuz#"$tmp"}
final_moddir=$dir${moddir#"$tmp"}
{
	echo "KVER=$kver"
	echo "VMLINUZ=$final_vmlinuz"
	echo "KDIR=/lib/modules/$kver/build"
	echo "MODDIR=$final_moddir"
	echo "CHROOT=$dir"
	echo "RELEASE=$suite"
	echo "GUEST_ARCH=$arch"
	echo "VERSION=$(chroot "$tmp" dpkg-query -W -f='${Version}' "linux-headers-$flavour")"
	# The compiler the kernel was built with, which kbuild uses for ours.
	sed -n 's/^CONFIG_CC_VERSION_TEXT=/COMPILER=/p' "$tmp/usr/src/linux-headers-$kver/.config"
} >"$tmp/env"
# The commit: the directory appears complete or not at all.
mv -T "$tmp" "$dir"
msg "$name kernel $kver ready in $(( $(date +%s) - start )) s ($(du -sh "$dir" | cut -f1))"
cat "$dir/env"
