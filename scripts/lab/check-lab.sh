#!/bin/sh
# make check-lab: the examiner is tested, not trusted. It grades, on the
# stock and the debug kernel:
#   - the solved copy (exercise.sh -s): every task must pass;
#   - the unsolved copy (make exercise): every task must fail, with a hint;
#   - each typical wrong answer in lab/mistakes/, a patch to the solved
#     copy whose header names its task and the hint expected ("Task:",
#     "Expect:", an awk regular expression): it must fail that task with
#     that hint;
#   - each correct variant in lab/alternatives/, a patch to the solved copy
#     with a "Task:" line: it must pass that task.
# Every check prints one TAP line; ends with "N passed, N failed".
#
# Each kernel grades them all in one list; lab_boot boots again when a task
# spends a boot (a process stuck in the kernel for good, lockdep off after
# its first report, a guest that died).
# KBANK_LAB_KERNELS="stock" grades on those kernels only (default: stock debug).
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"
. "$scripts/lab/lib.sh"

"$scripts/targets/setup.sh" lab >/dev/null || exit 1
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
	"$scripts/lab/exercise.sh" -s "$work/solved" 2>/dev/null
	tap $? "exercise.sh -s writes the solved copy"
	"$scripts/lab/exercise.sh" "$work/unsolved" 2>/dev/null
	tap $? "exercise.sh writes the unsolved copy"
	# Any file it would write is a student's work: here, one task's file.
	echo "/* a student's work */" >>"$work/unsolved/wait.c"
	! "$scripts/lab/exercise.sh" "$work/unsolved" 2>/dev/null &&
		grep -q "a student's work" "$work/unsolved/wait.c"
	tap $? "exercise.sh refuses to overwrite a student's wait.c"
	FORCE=1 "$scripts/lab/exercise.sh" "$work/unsolved" 2>/dev/null &&
		! grep -q "a student's work" "$work/unsolved/wait.c"
	tap $? "exercise.sh replaces it with FORCE=1"
	! grep -q 'exercise [0-9]' "$work/solved"/*.[ch] "$work/unsolved"/*.[ch] &&
		(for t in $(lab_tasks); do
			[ "$(grep -l "TODO $t[: ]" "$work/unsolved"/*.[ch] | wc -l)" = 1 ] || exit 1
		done)
	tap $? "the copies carry no markers; the unsolved one a TODO per cut, each task's in one file"

	# The mistakes and the alternatives: NAME:DIR:TASK entries, and what
	# each must say ("-": pass).
	entries=""
	: >"$work/expect"
	: >"$work/verdicts"
	for p in "$top"/lab/mistakes/*.patch "$top"/lab/alternatives/*.patch; do
		[ -f "$p" ] || continue
		name=$(basename "$p" .patch)
		task=$(sed -n 's/^Task: //p' "$p")
		case $p in
		*/alternatives/*) name="alt-$name" expect="-" ;;
		*) expect=$(sed -n 's/^Expect: //p' "$p") ;;
		esac
		mkdir -p "$work/$name"
		cp -R "$work/solved/." "$work/$name/"
		if ! patch -s -d "$work/$name" -p1 --no-backup-if-mismatch <"$p" >"$work/$name.patch.log" 2>&1; then
			tap 1 "$name applies to the solved copy"
			continue
		fi
		echo "$name $task $expect" >>"$work/expect"
		entries="$entries $name:$work/$name:$task"
	done

	solved="solved:$work/solved:$all" unsolved="unsolved:$work/unsolved:$all"
	for k in ${KBANK_LAB_KERNELS:-stock debug}; do
		msg "$k kernel"
		lab_boot "$k" "$work/$k.out" $solved $entries $unsolved
		lab_verdicts "$k" "$work/$k.out" >>"$work/verdicts"
		msg "$k kernel: $(ls "$work/$k.out".b* | grep -c '\.b[0-9]*$') boot(s)"
	done

	for t in $(lab_tasks); do
		scorecard "$work/verdicts" solved "$t" "${KBANK_LAB_KERNELS:-stock debug}" >"$work/card" 2>&1
		tap $? "the solved copy passes task $t on both kernels"
		[ $? = 0 ] || sed 's/^/#   /' "$work/card"
	done
	for t in $(lab_tasks); do
		scorecard "$work/verdicts" unsolved "$t" "${KBANK_LAB_KERNELS:-stock debug}" >"$work/card" 2>&1
		rc=$?
		[ $rc != 0 ] && ! grep -q 'not run' "$work/card"
		tap $? "the unsolved copy fails task $t: $(sed -n 2,3p "$work/card" | sed 's/^ *//' | tail -n 1)"
	done
	kernels=${KBANK_LAB_KERNELS:-stock debug}
	while read -r name task expect; do
		scorecard "$work/verdicts" "$name" "$task" "$kernels" >"$work/card" 2>&1
		rc=$?
		if [ "$expect" = - ]; then
			tap $rc "alternative ${name#alt-} passes task $task"
			[ $rc = 0 ] || sed 's/^/#   /' "$work/card"
			continue
		fi
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
