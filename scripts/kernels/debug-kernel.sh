#!/bin/sh
# Build (once per machine) the debug kernel that checks the lesson: lockdep,
# KCSAN, sleep-in-atomic and KUnit, from Debian's linux-source-6.1.
#
#   debug-kernel.sh [debug|sanitize]
#
# sanitize: the second flavour, kernel/debug.config then kernel/sanitize.config
# merged over it (KASAN, UBSAN, kmemleak and fault injection instead of KCSAN).
#
# The result lives in $KBANK_CACHE/<flavour>-kernel/<key>, where <key> names
# the source package version and a hash of the fragments, so changing either
# builds a new kernel and an unchanged one is reused. Re-running after an
# interruption resumes the build where make left it.
#
# Prints the kernel's directory (usable as KDIR) on stdout when done.
set -eu
scripts=$(cd "$(dirname "$0")/.." && pwd)
. "$scripts/lib.sh"

flavour=${1:-debug}
case $flavour in
debug)    frags="$scripts/../kernel/debug.config" ;;
sanitize) frags="$scripts/../kernel/debug.config $scripts/../kernel/sanitize.config" ;;
*)        die "unknown flavour $flavour (debug or sanitize)" ;;
esac
tarball=/usr/src/linux-source-6.1.tar.xz
[ -f "$tarball" ] || die "$tarball missing (apt-get install linux-source-6.1)"

ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
# shellcheck disable=SC2086 # $frags: a list of paths without spaces
key="$ver-$(cat $frags | sha256sum | cut -c1-12)"
dir="$KBANK_CACHE/$flavour-kernel/$key"
src="$dir/linux"
log="$dir/build.log"

mkdir -p "$dir"
# One build per kernel at a time: two makes in one tree corrupt each other's
# objects (seen: two make check-debug started at once). A
# second caller waits, then finds it done.
exec 9>"$dir.lock"
flock 9
if [ -f "$dir/done" ]; then
	echo "$src"
	exit 0
fi

if [ ! -f "$src/Makefile" ]; then
	msg "unpacking linux-source $ver into $dir"
	rm -rf "$src" "$dir/linux-source-6.1"
	tar -C "$dir" -xJf "$tarball"
	mv "$dir/linux-source-6.1" "$src"
fi

cd "$src"
stale=""
[ -f .config ] || stale=1
for f in $frags; do
	[ "$f" -nt .config ] && stale=1
done
if [ -n "$stale" ]; then
	msg "configuring: tinyconfig +$(for f in $frags; do printf ' %s' "${f##*/}"; done)"
	make -s tinyconfig >/dev/null
	# shellcheck disable=SC2086
	scripts/kconfig/merge_config.sh -m .config $frags >/dev/null
	make -s olddefconfig >/dev/null
	# merge_config only warns when Kconfig drops an option: fail instead.
	# An option's last assignment across the fragments is the one wanted.
	missing=""
	# shellcheck disable=SC2086
	for opt in $(cat $frags | awk '
		/^CONFIG_[A-Z0-9_]*=/ { split($0, kv, "="); v[kv[1]] = kv[2] }
		/^# CONFIG_[A-Z0-9_]* is not set/ { v[$2] = "n" }
		END { for (o in v) if (v[o] == "y") print o }'); do
		grep -q "^$opt=y" .config || missing="$missing $opt"
	done
	# Without .config, the next run configures again instead of building.
	[ -z "$missing" ] || { rm -f .config; die "options lost in .config:$missing"; }
fi

jobs=$(nproc)
msg "building the $flavour kernel: bzImage and modules with $jobs jobs (log: $log); 10 min or more on 2 cores"
start=$(date +%s)
# Progress: one line per minute with the number of objects built so far.
(while sleep 60; do
	msg "... $(grep -c '^  CC' "$log" 2>/dev/null || echo 0) objects compiled"
done) &
ticker=$!
trap 'kill $ticker 2>/dev/null || :' EXIT
if ! timeout 3600 make -j"$jobs" bzImage modules >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	die "$flavour kernel build failed (log: $log)"
fi
kill $ticker 2>/dev/null || true
msg "built in $(( $(date +%s) - start )) s"
touch "$dir/done"
echo "$src"
