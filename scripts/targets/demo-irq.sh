#!/bin/sh
# make demo-irq: why spinlocks exist. Interest is paid by a timer from a
# softirq, a hardirq or a workqueue; on Debian's kernel, each context with
# the right primitive in process context keeps the count exact. On the
# debug kernel, spin_lock() alone against the softirq payer
# (interest_lock=plain): lockdep proves that the CPU can deadlock on
# itself; then the fix, spin_lock_bh(), and lockdep is quiet.
# STOCK=1: the first part only, on Debian's kernel, without building the
# debug kernel (about 10 minutes on 2 cores, once).
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"
if [ "${STOCK:-}" = 1 ]; then
	"$scripts/targets/setup.sh" demo || exit 1
else
	"$scripts/targets/setup.sh" debug || exit 1
fi

echo "=== 1. Debian's kernel: interest from each context, the right primitive"
echo
"$scripts/vm/vm.sh" -t 600 -- /kbank/guest/demo-irq.sh || die "the interest demo failed"
[ "${STOCK:-}" = 1 ] && exit 0
if ! ls "$KBANK_CACHE"/debug-kernel/*/done >/dev/null 2>&1; then
	msg "parts 2 and 3 need the debug kernel (lockdep): building it once, about 10 minutes on 2 cores (STOCK=1 skips them)"
fi

echo
echo "=== 2. The debug kernel: spin_lock() alone against a softirq payer"
echo
log="$top/build/vm-debug/results.log"
KERNEL=debug KBANK_EXPECT=lockdep "$scripts/vm/vm.sh" -t 600 -- /kbank/guest/lockdep-irq.sh plain |
	sed '/^KBANK-LOCKDEP-BEGIN$/,$d'
report=$(sed -n '/^KBANK-LOCKDEP-BEGIN$/,/^KBANK-LOCKDEP-END$/p' "$log" | sed '1d;$d')
printf '%s\n' "$report" | grep -q 'inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage' ||
	die "lockdep did not report the softirq-unsafe lock (see build/vm-debug/dmesg.log)"
echo
echo "What lockdep printed, trimmed (full log: build/vm-debug/dmesg.log):"
echo
# The headline, who takes the lock in the softirq, where it was taken with
# softirqs on (bank's frames), the scenario, and the softirq's frames
# (without the "?" ones, which the unwinder only guessed).
printf '%s\n' "$report" | awk '
	/inconsistent lock state|inconsistent \{/ { print "  " $0; next }
	/ takes:$/ { print ""; print "  " $0; getline; sub(/^[0-9a-f]+ /, ""); print "    " $0; next }
	/state was registered at:$/ { print ""; print "  " $0; reg = 1; next }
	reg && /^  / { if ($0 ~ /\[bank\]|_raw_spin_lock/) print "  " $0; next }
	reg { reg = 0 }
	/Possible unsafe locking scenario/ { on = 1; print "" }
	on { print "  " $0 }
	on && /\*\*\* DEADLOCK \*\*\*/ { on = 0 }
	/^Call Trace:/ { ct = 1; print ""; print "  The payer, in the softirq (Call Trace):"; next }
	ct && !/^ *\?/ && /\[bank\]|hrtimer_run_softirq|__do_softirq|handle_softirqs/ { print "  " $0 }'

echo
echo "=== 3. The fix: spin_lock_bh() (interest_lock=safe), the same steps"
echo
KERNEL=debug "$scripts/vm/vm.sh" -t 600 -- /kbank/guest/lockdep-irq.sh safe ||
	die "lockdep reported the fixed code (see build/vm-debug/dmesg.log)"
cat <<'TEXT'

Nothing hung in part 2: the deposit had released the lock long before the
first payment. Lockdep remembered that account 0's spinlock was once taken
with softirqs on, saw a softirq take it, and proved the deadlock: a
softirq can run on the CPU of a holder, between any two of its
instructions, and spin on the lock that its own CPU holds, for ever.
spin_lock_bh() keeps softirqs off that CPU while it holds the lock;
against a hardirq payer, spin_lock_irqsave() keeps interrupts off. Between
two softirqs, or two processes, spin_lock() is enough: see the context
table in the README.
TEXT
