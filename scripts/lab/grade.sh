#!/bin/sh
# make grade [EXERCISE=dir] [TASK=n]: build a student's copy of the module
# (scripts/lab/exercise.sh), run each task's checks in the VM on the stock
# kernel and on the debug kernel (lockdep, KCSAN, sleep-in-atomic), one
# boot each for every task, and print one scorecard. Exit status 0 only if
# every graded task passes on both kernels.
#
#   grade.sh [-t "TASKS"] [-k "KERNELS"] DIR
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"
. "$scripts/lab/lib.sh"

tasks=$(lab_tasks) kernels="stock debug"
while getopts t:k: opt; do
	case $opt in
	t) tasks=$OPTARG ;;
	k) kernels=$OPTARG ;;
	*) die "usage: grade.sh [-t TASKS] [-k KERNELS] DIR" ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 1 ] || die "usage: grade.sh [-t TASKS] [-k KERNELS] DIR"
src=$(cd "$1" 2>/dev/null && pwd) ||
	die "$1: no such directory: make exercise writes one"
for f in $(lab_sources) Kbuild; do
	[ -f "$src/$f" ] ||
		die "$src: no $f: make exercise writes it (FORCE=1 make exercise replaces a copy that lacks files)"
done
for t in $tasks; do
	[ -n "$(lab_task_name "$t")" ] || die "TASK=$t: the tasks are $(lab_tasks)"
done

"$scripts/targets/setup.sh" lab >/dev/null || exit 1
out="$top/build/grade"
mkdir -p "$out"
rm -f "$out"/*.out*
start=$(date +%s)
list=$(echo $tasks | tr ' ' ,)
for k in $kernels; do
	msg "grading on the $k kernel (one boot, tasks $list)"
	lab_boot "$k" "$out/$k.out" "student:$src:$list"
	lab_verdicts "$k" "$out/$k.out"
done >"$out/verdicts"

scorecard "$out/verdicts" student "$tasks" "$kernels"
status=$?
echo "# graded in $(( $(date +%s) - start )) s; the guests' reports: ${out#"$top"/}/"
exit $status
