#!/bin/sh
# Static checks, one TAP line each: checkpatch --strict on every kernel file,
# the module built with W=1 and -Werror, sparse (C=2), the programs built
# with -Wall -Wextra -Werror. Exit status: the number of failed checks.
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"
"$scripts/targets/setup.sh" lint || exit 1

kenv=$("$scripts/kernels/kernel.sh") || die "no kernel to lint against (KERNEL=${KERNEL:-stock})"
eval "$kenv"
out="$top/build/lint"
mkdir -p "$out"
failed=0

result() {
	if [ "$1" = 0 ]; then
		echo "ok - lint: $2"
	else
		echo "not ok - lint: $2"
		sed 's/^/#   /' "$3" | head -n 40
		failed=$((failed + 1))
	fi
}

# checkpatch.pl: from the debug kernel's tree if built, else unpacked once
# from the newest Debian linux-source-* tarball (with the files it reads
# beside it); none: the checks are skipped, saying what to install.
checkpatch() {
	for cp in "$KBANK_CACHE"/debug-kernel/*/linux/scripts/checkpatch.pl; do
		[ -f "$cp" ] && { echo "$cp"; return; }
	done
	tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1)
	[ -n "$tarball" ] || return 0
	src=$(basename "$tarball" .tar.xz)
	cp="$KBANK_CACHE/checkpatch/$src/scripts/checkpatch.pl"
	if [ ! -f "$cp" ]; then
		mkdir -p "$KBANK_CACHE/checkpatch"
		tar -C "$KBANK_CACHE/checkpatch" -xJf "$tarball" \
			"$src/scripts/checkpatch.pl" "$src/scripts/spelling.txt" \
			"$src/scripts/const_structs.checkpatch" >&2
	fi
	echo "$cp"
}
cp=$(checkpatch)

cd "$top"
# No archive host named anywhere in the tree, scripts, docs and tests: the
# chroots and images take Debian from the machine's own apt configuration
# (apt-archive.sh), and a host written here would bypass a school's mirror
# or proxy. Tests use made-up hosts (.example). Written with [.] so that
# the pattern does not match itself.
hosts='(deb|ftp|security|archive|snapshot|httpredir|incoming)[.]debian[.](org|net)'
hosts="$hosts"'|ftp[.][a-z][a-z][.]debian[.]org|http[.]debian[.]net|debian[.]org/debian'
hosts="$hosts"'|deb[.]freexian[.]com|(archive|security|ports|old-releases)[.]ubuntu[.]com'
grep -r -n -I -i -E --exclude-dir=.git --exclude-dir=build "$hosts" . >"$out/hosts.log"
[ $? = 1 ]
result $? "no archive host named in the tree (apt's configuration says where Debian is)" "$out/hosts.log"

for f in $(ls module/*.[ch] | grep -v '\.mod\.c$') include/uapi/linux/bank.h; do
	if [ -z "$cp" ]; then
		echo "ok - lint: checkpatch --strict $f # SKIP no checkpatch.pl: apt-get install linux-source"
		continue
	fi
	perl "$cp" --strict --no-tree --terse --show-types -f "$f" >"$out/checkpatch.log" 2>&1
	! grep -qE '(ERROR|WARNING|CHECK):' "$out/checkpatch.log"
	result $? "checkpatch --strict $f" "$out/checkpatch.log"
done

CHROOT=${CHROOT:-}
kmake -s module KDIR="$KDIR" W=1 KCFLAGS=-Werror >"$out/w1.log" 2>&1 &&
	! grep -q 'warning:' "$out/w1.log"
result $? "module builds with W=1 -Werror against $KVER" "$out/w1.log"

# bank.ko is linked from several objects, so what they share is global:
# every global symbol is bank_-prefixed (the trace events' own are
# __*_bank_*), so that none can be mistaken for, or collide with, another
# module's or the kernel's.
nm -g --defined-only module/bank.o >"$out/symbols.log" 2>&1
cp "$out/symbols.log" "$out/symbols-bad.log"	# nm's error, if it failed
grep -q . "$out/symbols.log" && ! grep -q 'nm:' "$out/symbols.log" &&
	! awk '{ print $3 }' "$out/symbols.log" |
		grep -v -E '^(bank_|__(tracepoint|traceiter)_bank_|__SC[KT]__tp_func_bank_|init_module$|cleanup_module$)' |
		sed 's/$/: global, not bank_-prefixed/' | grep . >"$out/symbols-bad.log"
result $? "every global symbol of bank.o is bank_-prefixed" "$out/symbols-bad.log"

# The lab's unsolved copy (make exercise) is the first code a student
# builds: it must build as cleanly as the model.
rm -rf "$out/exercise"
"$scripts/lab/exercise.sh" "$out/exercise" >"$out/exercise.log" 2>&1 &&
	kmake -s -C "$out/exercise" KDIR="$KDIR" W=1 KCFLAGS=-Werror \
		>>"$out/exercise.log" 2>&1 &&
	! grep -q 'warning:' "$out/exercise.log"
result $? "the lab's unsolved copy builds with W=1 -Werror against $KVER" "$out/exercise.log"

# sparse (C=2), not silent so that its "CHECK module/FILE.c" lines prove it
# ran on every source of the module. Two honest skips instead of a pass or a failure:
#  - headers that cannot run sparse (Debian's 7.3-rc headers lack
#    scripts/checker-valid.sh, so kbuild says "sparse is not available");
#  - PREEMPT_RT kernels whose headers annotate spin_trylock() for sparse
#    (__cond_lock) but not rt_spin_lock() (6.1-rt): sparse then flags every
#    trylock-then-lock, ours included, as a context imbalance.
kmake module KDIR="$KDIR" C=2 >"$out/sparse.log" 2>&1
rc=$?
unchecked=""
# The sources of bank.ko: the KUnit test builds only against a KUnit kernel.
for f in $(ls module/*.c | grep -v -e '\.mod\.c$' -e '_test\.c$'); do
	grep -q "CHECK .*$f\$" "$out/sparse.log" || unchecked="$unchecked $f"
done
ours=$(grep -E '^[^ ]*(module|include)/.*: (warning|error):' "$out/sparse.log")
if grep -q 'sparse is not available' "$out/sparse.log"; then
	why=$(grep -o -m 1 '[^ /]*checker-valid.sh: No such file or directory' "$out/sparse.log" ||
		echo "sparse not available")
	echo "ok - lint: sparse (C=2) clean # SKIP $KVER's headers cannot run sparse ($why)"
elif [ $rc != 0 ] || [ -n "$unchecked" ]; then
	result 1 "sparse (C=2) ran on every module/*.c (not on:$unchecked)" "$out/sparse.log"
elif [ -n "$ours" ] && case $KVER in *-rt*) true ;; *) false ;; esac &&
	! echo "$ours" | grep -qv 'context imbalance'; then
	echo "ok - lint: sparse (C=2) clean # SKIP $KVER: rt_spin_lock() lacks the __acquires() of spin_trylock() ($(echo "$ours" | wc -l) context-imbalance warnings)"
else
	[ -z "$ours" ]
	result $? "sparse (C=2) clean" "$out/sparse.log"
fi

make -s -B progs OUT="$out/bin" >"$out/progs.log" 2>&1
result $? "programs build with -std=c11 -Wall -Wextra -Werror" "$out/progs.log"

exit $failed
