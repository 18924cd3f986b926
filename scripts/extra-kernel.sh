#!/bin/sh
# Fetch one of the extra kernels of the matrix into kbank's cache, without
# touching the system's package sources or installed packages:
#   6.12     bookworm-backports' linux-image-amd64 and linux-headers-amd64
#   6.1-rt   bookworm's linux-image-rt-amd64 and linux-headers-rt-amd64
# The packages are downloaded through a private apt configuration (its own
# sources list, lists and archive directories under the cache) and unpacked
# with dpkg-deb into $KBANK_CACHE/kernels/<name>/root, with the headers'
# absolute paths turned into paths inside that root. Prints, like kernel.sh,
# KVER, VMLINUZ, KDIR and MODDIR assignments.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

name=$1
# The RT kernel comes from the same suites as the stock one (point release,
# updates and security), so that its version matches the stock kernel's.
debian="http://deb.debian.org/debian"
keys="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
case $name in
6.12)	flavour=amd64
	sources="deb $keys $debian bookworm-backports main" ;;
6.1-rt)	flavour=rt-amd64
	sources="deb $keys $debian bookworm main
deb $keys $debian bookworm-updates main
deb $keys http://deb.debian.org/debian-security bookworm-security main" ;;
*)	die "unknown extra kernel '$name' (6.12 or 6.1-rt)" ;;
esac

dir="$KBANK_CACHE/kernels/$name"
root="$dir/root"
if [ -f "$dir/env" ]; then
	cat "$dir/env"
	exit 0
fi
command -v dpkg-deb >/dev/null || die "dpkg-deb missing"
start=$(date +%s)
msg "fetching the $name kernel into $dir (private apt lists; system sources untouched)"
rm -rf "$dir"
mkdir -p "$dir/apt/lists/partial" "$dir/apt/archives/partial" "$dir/debs" "$root"
echo "$sources" >"$dir/apt/sources.list"
: >"$dir/apt/status"
apt() {
	cmd=$1
	shift
	"$cmd" -q -o Dir::Etc::SourceList="$dir/apt/sources.list" \
		-o Dir::Etc::SourceParts=/nonexistent \
		-o Dir::State::Lists="$dir/apt/lists" \
		-o Dir::Cache::Archives="$dir/apt/archives" \
		-o Dir::Cache="$dir/apt" -o Dir::State::status="$dir/apt/status" \
		-o APT::Sandbox::User=root "$@"
}
apt apt-get update >"$dir/apt.log" 2>&1 || { cat "$dir/apt.log" >&2; die "apt-get update failed"; }

# Follow the dependencies that are kernel packages: image, headers, kbuild.
newest() {
	apt apt-cache show "$1" 2>/dev/null | awk '
		/^Version: / { v = $2 }
		/^Depends: / { d[v] = $0 }
		END { for (k in d) print k "\t" d[k] }' |
		sort -V | tail -n 1 | cut -f2 |
		sed 's/^Depends: //; s/([^)]*)//g; s/|[^,]*//g; s/,/\n/g' |
		tr -d ' ' | grep -E '^linux-(image|headers|kbuild)-' || true
}
todo="linux-image-$flavour linux-headers-$flavour"
pkgs=""
while [ -n "$todo" ]; do
	set -- $todo
	p=$1
	shift
	todo="$*"
	case " $pkgs " in *" $p "*) continue ;; esac
	pkgs="$pkgs $p"
	todo=$(echo $todo $(newest "$p"))
done
msg "packages:$pkgs"
(cd "$dir/debs" && apt apt-get download $pkgs >>"$dir/apt.log" 2>&1) ||
	{ tail -n 20 "$dir/apt.log" >&2; die "apt-get download failed"; }
for deb in "$dir"/debs/*.deb; do
	dpkg-deb -x "$deb" "$root"
done

# The headers name their parts by absolute paths: point them into the root.
find "$root" -type l | while read -r link; do
	target=$(readlink "$link")
	case $target in
	/*) [ -e "$root$target" ] && ln -sfn "$root$target" "$link" ;;
	esac
done
grep -rl --include=Makefile '/usr/src/linux-headers' "$root/usr/src" 2>/dev/null |
	while read -r mk; do
		sed -i "s|include /usr/src/|include $root/usr/src/|" "$mk"
	done

kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
[ -n "$kver" ] && [ -f "$root/boot/vmlinuz-$kver" ] || die "no kernel image unpacked"
depmod -b "$root" "$kver"
{
	echo "KVER=$kver"
	echo "VMLINUZ=$root/boot/vmlinuz-$kver"
	echo "KDIR=$(readlink -f "$root/lib/modules/$kver/build")"
	echo "MODDIR=$root/lib/modules/$kver"
} >"$dir/env"
msg "$name kernel $kver ready in $(( $(date +%s) - start )) s"
cat "$dir/env"
