#!/bin/sh
# make exercise: write a student's copy of the module, with the locking of
# the lab's tasks cut out.
#
#   exercise.sh [-s] [-t TASKS] DIR
#
# The copy is generated from module/bank.c itself. There, each cut is a
# region between "/* exercise N: what to achieve */" and "/* end exercise */";
# in the copy the region becomes "/* TODO N: what to achieve */", followed by
# lab/unsolved/N.K when that file exists (the K-th region of task N needs
# code to stay buildable, e.g. a plain read and write in place of a
# compare-and-swap loop). Outside the regions the copy is bank.c, byte for
# byte, markers removed.
#
#   -s        the solved copy: every region kept, only the markers removed
#   -t TASKS  cut only these tasks (e.g. "1 2"); the others stay solved
#
# DIR gets bank.c, bank_logic.h, bank_trace.h, include/uapi/linux/bank.h, a
# Kbuild and a Makefile: `make -C DIR KDIR=...` builds bank.ko there. An existing
# DIR/bank.c is a student's work: refused unless FORCE=1.
set -eu
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"

solved="" tasks="1 2 3 4 5 6"
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

if [ -e "$dir/bank.c" ] && [ "${FORCE:-}" != 1 ]; then
	die "$dir/bank.c exists (a student's work?): not overwritten; FORCE=1 to replace it"
fi

# Cut the regions of $tasks out of bank.c; fail on a marker out of place,
# so that an edit elsewhere in bank.c never yields a silently wrong copy.
cut() {
	awk -v tasks=" $tasks " -v unsolved="$top/lab/unsolved" '
	function fail(m) { printf "exercise.sh: module/bank.c:%d: %s\n", NR, m >"/dev/stderr"; bad = 1; exit 1 }
	match($0, /^[ \t]*\/\* exercise [0-9]+(: .*)? \*\/$/) {
		if (task) fail("exercise region inside another")
		indent = $0; sub(/[^ \t].*$/, "", indent)
		task = $0; sub(/^[ \t]*\/\* exercise /, "", task); sub(/[: ].*$/, "", task)
		text = $0; sub(/^[^:]*(: )?/, "", text); sub(/ ?\*\/$/, "", text)
		if (text ~ /^\/\* exercise/) text = ""
		region[task]++; seen[task] = 1
		cutting = index(tasks, " " task " ") > 0
		if (cutting) {
			print indent "/* TODO " task (text != "" ? ": " text : "") " */"
			f = unsolved "/" task "." region[task]
			while ((getline line <f) > 0)
				print (line == "" ? "" : indent line)
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
	!cutting { print }
	END {
		if (bad) exit 1
		if (task) { NR = "end"; fail("exercise " task " never ends") }
		for (t = 1; t <= 6; t++)
			if (!seen[t]) { NR = "end"; fail("no region of exercise " t) }
	}' "$top/module/bank.c"
}

mkdir -p "$dir/include/uapi/linux"
cut >"$dir/bank.c.new" || { rm -f "$dir/bank.c.new"; die "module/bank.c: exercise markers out of place"; }
mv "$dir/bank.c.new" "$dir/bank.c"
cp "$top/module/bank_logic.h" "$top/module/bank_trace.h" "$dir/"
cp "$top/include/uapi/linux/bank.h" "$dir/include/uapi/linux/"
# -I$(src): define_trace.h includes bank_trace.h again by name.
cat >"$dir/Kbuild" <<'EOF'
ccflags-y := -I$(src)/include/uapi -I$(src)
obj-m := bank.o
EOF
cat >"$dir/Makefile" <<'EOF'
# The kbank lab: your copy of bank.c. `make` builds bank.ko here against
# KDIR; `make grade` in the kbank repository boots it in a VM and marks it.
KDIR ?= /lib/modules/$(shell uname -r)/build

all:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	rm -f *.o *.ko *.mod *.mod.c .*.cmd Module.symvers modules.order
EOF
if [ -n "$solved" ]; then
	msg "wrote the solved copy to $dir"
else
	msg "wrote $dir/bank.c: look for 'TODO' (tasks $tasks); then: make grade"
fi
