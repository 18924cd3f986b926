#!/bin/sh
# make exercise: write a student's copy of the module, with the locking of
# the lab's tasks cut out.
#
#   exercise.sh [-s] [-t TASKS] DIR
#
# The copy is generated from the module's own sources (module/*.c, *.h).
# There, each cut is a region between "/* exercise N: what to achieve */"
# and "/* end exercise */"; in the copy the region becomes
# "/* TODO N: what to achieve */", followed by lab/unsolved/N.K when that
# file exists (the K-th region of task N needs code to stay buildable, e.g.
# a plain read and write in place of a compare-and-swap loop). Outside the
# regions each file of the copy is its source, byte for byte, markers
# removed. All the regions of one task lie in one file (update.c holds
# tasks 1 to 3, wait.c task 4, mode.c task 5, accounts.c task 6).
#
#   -s        the solved copy: every region kept, only the markers removed
#   -t TASKS  cut only these tasks (e.g. "1 2"); the others stay solved
#
# DIR gets the sources of bank.ko (the files of bank-y in module/Kbuild, and
# module/*.h), include/uapi/linux/bank.h, a Kbuild and a Makefile: `make -C
# DIR KDIR=...` builds bank.ko there. An existing source file in DIR is a
# student's work: refused unless FORCE=1.
set -eu
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"
. "$scripts/lab/lib.sh"

solved="" tasks=$(lab_tasks)
while getopts st: opt; do
	case $opt in
	s) solved=1 ;;
	t) tasks=$OPTARG ;;
	*) die "usage: exercise.sh [-s] [-t TASKS] DIR" ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 1 ] || die "usage: exercise.sh [-s] [-t TASKS] DIR"
dir=$1
[ -n "$solved" ] && tasks=""

files=$(lab_sources)
[ -n "$files" ] || die "module/Kbuild: no bank-y list of bank.ko's files"
# bank.c: the single file of an older copy, a student's work too.
for f in $files bank.c; do
	if [ -e "$dir/$f" ] && [ "${FORCE:-}" != 1 ]; then
		die "$dir/$f exists (a student's work?): not overwritten; FORCE=1 to replace it"
	fi
done

# Cut the regions of $tasks out of the sources, each into DIR/FILE.new; fail
# on a marker out of place, so that an edit elsewhere never yields a
# silently wrong copy, and on a task whose regions are not in one file.
cut() {
	awk -v tasks=" $tasks " -v unsolved="$top/lab/unsolved" -v dir="$dir" \
		-v all="$(lab_tasks)" -v homes="$(for t in $(lab_tasks); do printf '%s=module/%s ' "$t" "$(lab_task_file "$t")"; done)" '
	function fail(m) { printf "exercise.sh: %s:%s: %s\n", where, FNR, m >"/dev/stderr"; bad = 1; exit 1 }
	BEGIN {
		n = split(homes, h, " ")
		for (i = 1; i <= n; i++) { split(h[i], kv, "="); home[kv[1]] = kv[2] }
		ntasks = split(all, alltasks, " ")
	}
	FNR == 1 {
		if (task) { FNR = "end"; fail("exercise " task " never ends") }
		if (out != "") close(out)
		where = FILENAME; sub(/^.*\/module\//, "module/", where)
		out = FILENAME; sub(/^.*\//, "", out); out = dir "/" out ".new"
		printf "" >out
	}
	match($0, /^[ \t]*\/\* exercise [0-9]+(: .*)? \*\/$/) {
		if (task) fail("exercise region inside another")
		indent = $0; sub(/[^ \t].*$/, "", indent)
		task = $0; sub(/^[ \t]*\/\* exercise /, "", task); sub(/[: ].*$/, "", task)
		text = $0; sub(/^[^:]*(: )?/, "", text); sub(/ ?\*\/$/, "", text)
		if (text ~ /^\/\* exercise/) text = ""
		if (!(task in home))
			fail("exercise " task ": not a task of lab/tasks")
		if (where != home[task])
			fail("exercise " task " belongs in " home[task] " (lab/tasks): a task lives in one file")
		file[task] = where
		region[task]++
		cutting = index(tasks, " " task " ") > 0
		if (cutting) {
			print indent "/* TODO " task (text != "" ? ": " text : "") " */" >out
			f = unsolved "/" task "." region[task]
			while ((getline line <f) > 0)
				print (line == "" ? "" : indent line) >out
			close(f)
		}
		next
	}
	/^[ \t]*\/\* end exercise \*\/$/ {
		if (!task) fail("end exercise without its start")
		task = ""; cutting = 0
		next
	}
	/exercise [0-9]/ && /\/\*/ { fail("malformed exercise marker: " $0) }
	!cutting { print >out }
	END {
		if (bad) exit 1
		if (task) { FNR = "end"; fail("exercise " task " never ends") }
		for (i = 1; i <= ntasks; i++)
			if (!(alltasks[i] in file)) { where = "module"; FNR = "end"; fail("no region of exercise " alltasks[i]) }
	}' $(for f in $files; do echo "$top/module/$f"; done)
}

mkdir -p "$dir/include/uapi/linux"
if ! cut; then
	for f in $files; do rm -f "$dir/$f.new"; done
	die "module/: exercise markers out of place"
fi
for f in $files; do
	mv "$dir/$f.new" "$dir/$f"
done
cp "$top/include/uapi/linux/bank.h" "$dir/include/uapi/linux/"
# -I$(src): define_trace.h includes bank_trace.h again by name.
objs=$(for f in $files; do case $f in *.c) printf ' %s' "${f%.c}.o" ;; esac; done)
# module/Kbuild's feature tests too (hrtimer_setup() on 6.13 and later).
cat >"$dir/Kbuild" <<KBUILD
ccflags-y := -I\$(src)/include/uapi -I\$(src)
$(grep '^ccflags-y += \$(if ' "$top/module/Kbuild")
obj-m := bank.o
bank-y :=$objs
KBUILD
cat >"$dir/Makefile" <<'EOF2'
# The kbank lab: your copy of the module. `make` builds bank.ko here against
# KDIR; `make grade` in the kbank repository boots it in a VM and marks it.
KDIR ?= /lib/modules/$(shell uname -r)/build

all:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	rm -f *.o *.ko *.mod *.mod.c .*.cmd Module.symvers modules.order
EOF2
if [ -n "$solved" ]; then
	msg "wrote the solved copy to $dir"
else
	msg "wrote $dir: look for 'TODO' (tasks $tasks: $(lab_task_files "$tasks")); then: make grade"
fi
