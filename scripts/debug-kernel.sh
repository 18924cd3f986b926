#!/bin/sh
# Build (once per machine) the debug kernel that checks the lesson: lockdep,
# KCSAN, sleep-in-atomic and KUnit, from Debian's linux-source-6.1.
#
# The result lives in $KBANK_CACHE/debug-kernel/<key>, where <key> names the
# source package version and a hash of kernel/debug.config, so changing either
# builds a new kernel and an unchanged one is reused. Re-running after an
# interruption resumes the build where make left it.
#
# Prints the kernel's directory (usable as KDIR) on stdout when done.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

frag="$here/../kernel/debug.config"
tarball=/usr/src/linux-source-6.1.tar.xz
[ -f "$tarball" ] || die "$tarball missing (apt-get install linux-source-6.1)"

ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key="$ver-$(sha256sum "$frag" | cut -c1-12)"
dir="$KBANK_CACHE/debug-kernel/$key"
src="$dir/linux"
log="$dir/build.log"

if [ -f "$dir/done" ]; then
	echo "$src"
	exit 0
fi

mkdir -p "$dir"
if [ ! -f "$src/Makefile" ]; then
	msg "unpacking linux-source $ver into $dir"
	rm -rf "$src" "$dir/linux-source-6.1"
	tar -C "$dir" -xJf "$tarball"
	mv "$dir/linux-source-6.1" "$src"
fi

cd "$src"
if [ ! -f .config ] || [ "$frag" -nt .config ]; then
	msg "configuring: tinyconfig + kernel/debug.config"
	make -s tinyconfig >/dev/null
	scripts/kconfig/merge_config.sh -m .config "$frag" >/dev/null
	make -s olddefconfig >/dev/null
	# merge_config only warns when Kconfig drops an option: fail instead.
	missing=""
	for opt in $(grep -o '^CONFIG_[A-Z0-9_]*=y' "$frag" | cut -d= -f1); do
		grep -q "^$opt=y" .config || missing="$missing $opt"
	done
	[ -z "$missing" ] || die "options lost in .config:$missing"
fi

jobs=$(nproc)
msg "building bzImage and modules with $jobs jobs (log: $log); about 10 min on 2 cores"
start=$(date +%s)
# Progress: one line per minute with the number of objects built so far.
(while sleep 60; do
	msg "... $(grep -c '^  CC' "$log" 2>/dev/null || echo 0) objects compiled"
done) &
ticker=$!
trap 'kill $ticker 2>/dev/null || :' EXIT
if ! timeout 3600 make -j"$jobs" bzImage modules >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	die "debug kernel build failed (log: $log)"
fi
kill $ticker 2>/dev/null || true
msg "built in $(( $(date +%s) - start )) s"
touch "$dir/done"
echo "$src"
