#!/bin/sh
# make demo-deadlock: the next lesson, locks that deadlock. On Debian's
# kernel, two opposite transfers with lock_order=naive hang and are killed;
# on the debug kernel, lockdep proves the deadlock possible from a run in
# which none happened; with lock_order=ordered the load completes.
# STOCK=1: the first half only, on Debian's kernel, without building the
# debug kernel (about 10 minutes on 2 cores, once).
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"
# STOCK=1 boots Debian's kernel alone: the demo's packages are enough.
if [ "${STOCK:-}" = 1 ]; then
	"$scripts/targets/setup.sh" demo || exit 1
else
	"$scripts/targets/setup.sh" debug || exit 1
fi

echo "=== 1. Debian's kernel: the deadlock happens, and the fix"
echo
"$scripts/vm/vm.sh" -t 600 -- /kbank/guest/deadlock.sh || die "the deadlock demo failed"
[ "${STOCK:-}" = 1 ] && exit 0
if ! ls "$KBANK_CACHE"/debug-kernel/*/done >/dev/null 2>&1; then
	msg "part 2 needs the debug kernel (lockdep): building it once, about 10 minutes on 2 cores (STOCK=1 skips part 2)"
fi

echo
echo "=== 2. The debug kernel: lockdep sees it coming, with no deadlock at all"
echo
log="$top/build/vm-debug/results.log"
KERNEL=debug KBANK_EXPECT=lockdep "$scripts/vm/vm.sh" -t 600 -- /kbank/guest/lockdep.sh |
	sed '/^KBANK-LOCKDEP-BEGIN$/,$d'
report=$(sed -n '/^KBANK-LOCKDEP-BEGIN$/,/^KBANK-LOCKDEP-END$/p' "$log" | sed '1d;$d')
printf '%s\n' "$report" | grep -q 'bank_account1' ||
	die "lockdep did not report the two accounts (see build/vm-debug/dmesg.log)"
echo
echo "What lockdep printed, trimmed (full log: build/vm-debug/dmesg.log):"
echo
printf '%s\n' "$report" | awk '
	/possible circular locking dependency detected/ { print "  " $0; next }
	/is trying to acquire lock:|is already holding lock:/ {
		print ""; print "  " $0; getline
		sub(/^[0-9a-f]+ /, ""); print "    " $0; next }
	/Possible unsafe locking scenario/ { on = 1; print "" }
	on { print "  " $0 }'
cat <<'TEXT'

Nothing hung in this run: the transfer 1 -> 2 had finished before 2 -> 1
began. Lockdep remembered that account 1's lock was once held while taking
account 2's, saw the opposite order, and proved that two CPUs doing both at
once can deadlock. It can, because each account's lock has a lock class of
its own (bank_ledgers_init(), lockdep_set_class_and_name()); with one
class for all, lockdep would have seen one lock taken twice instead. With
lock_order=ordered every transfer takes the lower account first: the cycle
cannot form.
TEXT
