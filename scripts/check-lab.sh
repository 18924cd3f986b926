#!/bin/sh
# make check-lab: the examiner is tested, not trusted. It grades, on the
# stock and the debug kernel:
#   - the solved copy (exercise.sh -s): every task must pass;
#   - the unsolved copy (make exercise): every task must fail, with a hint;
#   - each typical wrong answer in lab/mistakes/, a patch to the solved
#     copy whose header names its task and the hint expected ("Task:",
#     "Expect:", an awk regular expression): it must fail that task with
#     that hint.
# Every check prints one TAP line; ends with "N passed, N failed".
#
# Boots: one on the stock kernel for all of them. Lockdep switches itself
# off after its first report, for the rest of the boot, so the debug kernel
# boots twice: the mistakes lockdep does not need, then the lock left held
# (reported when it returns to user space); then the deadlocks (the lock
# order mistake and the unsolved copy, reported as circular dependencies),
# and last the spinlock holder that sleeps: on the debug kernel (full
# preemption) it corrupts the kernel's state and the guest dies.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"
. "$here/lab-lib.sh"

"$here/setup.sh" lab >/dev/null || exit 1
work="$top/build/check-lab"
rm -rf "$work"
mkdir -p "$work"
log="$work/log"
start=$(date +%s)
all=1,2,3,4,5,6

tap() {
	if [ "$1" = 0 ]; then echo "ok - lab: $2"; else echo "not ok - lab: $2"; fi
}

{
	"$here/exercise.sh" -s "$work/solved" 2>/dev/null
	tap $? "exercise.sh -s writes the solved copy"
	"$here/exercise.sh" "$work/unsolved" 2>/dev/null
	tap $? "exercise.sh writes the unsolved copy"
	echo "/* a student's work */" >>"$work/unsolved/bank.c"
	! "$here/exercise.sh" "$work/unsolved" 2>/dev/null &&
		grep -q "a student's work" "$work/unsolved/bank.c"
	tap $? "exercise.sh refuses to overwrite a student's bank.c"
	FORCE=1 "$here/exercise.sh" "$work/unsolved" 2>/dev/null &&
		! grep -q "a student's work" "$work/unsolved/bank.c"
	tap $? "exercise.sh replaces it with FORCE=1"
	! grep -q 'exercise [0-9]' "$work/solved/bank.c" "$work/unsolved/bank.c" &&
		[ "$(grep -c 'TODO [1-6]' "$work/unsolved/bank.c")" -ge 6 ]
	tap $? "the copies carry no markers; the unsolved one a TODO per cut"

	# The mistakes: NAME:DIR:TASK entries, and what each must say.
	mistakes="" lockdep_held="" deadlocks="" killers=""
	: >"$work/expect"
	for p in "$top"/lab/mistakes/*.patch; do
		name=$(basename "$p" .patch)
		task=$(sed -n 's/^Task: //p' "$p")
		expect=$(sed -n 's/^Expect: //p' "$p")
		mkdir -p "$work/$name"
		cp -R "$work/solved/." "$work/$name/"
		if ! patch -s -d "$work/$name" -p1 --no-backup-if-mismatch <"$p" >"$work/$name.patch.log" 2>&1; then
			tap 1 "$name applies to the solved copy"
			continue
		fi
		echo "$name $task $expect" >>"$work/expect"
		entry="$name:$work/$name:$task"
		case $name in
		2-unlock-missing*) lockdep_held="$lockdep_held $entry" ;;
		6-*) deadlocks="$deadlocks $entry" ;;
		1-sleep-under-spinlock) killers="$killers $entry" ;;
		*) mistakes="$mistakes $entry" ;;
		esac
	done

	solved="solved:$work/solved:$all" unsolved="unsolved:$work/unsolved:$all"
	msg "stock kernel: one boot"
	lab_boot stock "$work/stock.out" $solved $mistakes $lockdep_held $deadlocks $unsolved $killers
	lab_verdicts stock "$work/stock.out" >"$work/verdicts"
	msg "debug kernel: boot 1 of 2"
	lab_boot debug "$work/debug1.out" $solved $mistakes $lockdep_held
	lab_verdicts debug "$work/debug1.out" >>"$work/verdicts"
	msg "debug kernel: boot 2 of 2"
	lab_boot debug "$work/debug2.out" $deadlocks $unsolved $killers
	lab_verdicts debug "$work/debug2.out" >>"$work/verdicts"

	for t in 1 2 3 4 5 6; do
		scorecard "$work/verdicts" solved "$t" "stock debug" >"$work/card" 2>&1
		tap $? "the solved copy passes task $t on both kernels"
		[ $? = 0 ] || sed 's/^/#   /' "$work/card"
	done
	for t in 1 2 3 4 5 6; do
		scorecard "$work/verdicts" unsolved "$t" "stock debug" >"$work/card" 2>&1
		rc=$?
		[ $rc != 0 ] && ! grep -q 'not run' "$work/card"
		tap $? "the unsolved copy fails task $t: $(sed -n 2,3p "$work/card" | sed 's/^ *//' | tail -n 1)"
	done
	while read -r name task expect; do
		scorecard "$work/verdicts" "$name" "$task" "stock debug" >"$work/card" 2>&1
		rc=$?
		[ $rc != 0 ] && sed 1d "$work/card" | awk -v re="$expect" '$0 ~ re { f = 1 } END { exit !f }'
		ok=$?
		hint=$(sed 1,2d "$work/card" | sed '$d' | sed 's/^ *//' | awk -v re="$expect" '$0 ~ re' | head -n 1)
		tap $ok "mistake $name fails task $task: ${hint:-no hint matching /$expect/}"
		[ $ok = 0 ] || sed 's/^/#   /' "$work/card"
	done <"$work/expect"
} 2>&1 | tee "$log"

passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok' "$log")
echo "# check-lab: $(( $(date +%s) - start )) s; the guests' reports: ${work#"$top"/}/"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
