# The lab's examiner, host side: shared by grade.sh and check-lab.sh.
# Source it after lib.sh; it defines, never runs.

# lab_boot KERNEL OUT ENTRY...: boot KERNEL (stock, debug) to grade every
# ENTRY ("NAME:DIR:TASKS", tasks comma-separated) one after another. A boot
# that a task spent (the guest says LAB-REBOOT: a process stuck for good,
# or lockdep off after its report) or that died is followed by another, for
# the tasks it did not start. Boot N's report goes to OUT.bN, its console to
# OUT.bN.console.
lab_boot() {
	lb_kernel=$1 lb_out=$2
	shift 2
	lb_todo="$*" lb_n=0
	rm -f "$lb_out".b*
	while [ -n "$lb_todo" ]; do
		lb_n=$((lb_n + 1))
		lb_b="$lb_out.b$lb_n"
		# -i 300: each task's silence is bounded by bank_lab's own
		# alarm, 240 s, which ends a task stuck on a student's lock.
		# The students' copies are built by build.sh; the log is
		# the grader's to judge (lab_verdicts).
		KERNEL=$lb_kernel KBANK_LAB="$lb_todo" KBANK_EXPECT=caller \
			KBANK_PREPARE="$scripts/lab/build.sh" \
			"$scripts/vm/vm.sh" -t "${KBANK_LAB_TIMEOUT:-900}" -i 300 -- /kbank/guest/lab.sh \
			>"$lb_b" 2>"$lb_b.err" || true
		cp "$top/build/vm-$lb_kernel/console.log" "$lb_b.console" 2>/dev/null || :
		grep -q '^LAB-ALL-DONE' "$lb_b" && break
		# shellcheck disable=SC2086 # entries are words
		lb_left=$(lab_left "$lb_b" $lb_todo)
		# No task started: this boot cannot get further than the last.
		[ "$lb_left" != "$lb_todo" ] || break
		lb_todo=$lb_left
	done
}

# lab_left REPORT ENTRY...: the entries, less the tasks REPORT started and
# the copies that did not build.
lab_left() {
	ll_report=$1 ll_out=""
	shift
	for ll_entry; do
		ll_name=${ll_entry%%:*} ll_rest=${ll_entry#*:}
		ll_dir=${ll_rest%%:*} ll_tasks=${ll_rest#*:}
		grep -q "^LAB-BUILD-FAILED $ll_name\$" "$ll_report" && continue
		ll_keep=$(for ll_t in $(echo "$ll_tasks" | tr , ' '); do
			grep -q "^LAB-TASK $ll_name $ll_t\$" "$ll_report" || echo "$ll_t"
		done | paste -sd, -)
		[ -n "$ll_keep" ] && ll_out="$ll_out $ll_name:$ll_dir:$ll_keep"
	done
	echo "${ll_out# }"
}

# lab_verdicts KERNEL OUT: what OUT's boots (lab_boot's) say, one line per
# hint:
#   NAME TASK KERNEL pass|fail HINT
# A task passes when bank_lab saw nothing wrong, its kernel log is clean
# and it ran to its end. Kernel log lines become hints in a student's
# words; a task that never ended (the VM hung or died) is told so.
lab_verdicts() {
	lv_n=1
	while [ -f "$2.b$lv_n" ]; do
		lab_verdicts_boot "$1" "$2.b$lv_n"
		lv_n=$((lv_n + 1))
	done
}

lab_verdicts_boot() {
	tr -d '\r' <"$2" | awk -v kernel="$1" -v console="$2.console" '
	BEGIN {
		# Task 3 runs in mode atomic: no spinlock, the update'"'"'s own loop.
		nested = "ran inside a wait'"'"'s condition, where the task is already set to sleep (\"do not call blocking ops when !TASK_RUNNING\"): the condition of wait_event_*() must not sleep: look without a lock (bank_peek()), and take the lock after the wait"
		twice = "a path unlocks it twice (an unlock in a branch, then again at the label), or unlocks a lock it never took"
		casloop = "in mode atomic no spinlock is held: a compare-and-swap loop that never ends: compute each retry from the value the failed compare-and-swap found (atomic64_try_cmpxchg() updates old; atomic64_cmpxchg() returns it)"
	}
	function hint(h) { if (!(h in said)) { said[h] = 1; hints[++nh] = h } }
	function frame(s) {	# the first function of bank.ko in s
		if (match(s, /[A-Za-z0-9_.]+\+0x[0-9a-f]+\/0x[0-9a-f]+ \[bank\]/)) {
			s = substr(s, RSTART, RLENGTH); sub(/\+.*/, "", s); return s
		}
		return ""
	}
	function finish(   i) {
		if (!nh) print name, task, kernel, "pass", "-"
		for (i = 1; i <= nh; i++) print name, task, kernel, "fail", hints[i]
		nh = 0; split("", said); name = ""
	}
	/^LAB-BUILD-FAILED / { print $2, "*", kernel, "fail", "does not build against this kernel: run make in your directory and read the errors"; next }
	/^LAB-TASK / { if (name != "") { hint("the VM stopped during this task (a CPU stuck on a lock, or a crash)"); finish() } name = $2; task = $3; nh = 0; next }
	/^LAB-OBS fail / { sub(/^LAB-OBS fail /, ""); hint($0); next }
	/^LAB-WEDGED/ { wedged = 1; next }
	/^LAB-KLOG-BEGIN/ { klog = 1; want = ""; nk = 0; next }
	/^LAB-KLOG-END/ {
		# A CPU spinning for good can keep dmesg from reading the log:
		# the console has it, and this task is the boot'"'"'s last.
		if (wedged && !nk) {
			while ((getline c <console) > 0) {
				if (c ~ /lock held when returning to user space/)
					held = 1
				else if (held && match(c, /\([^()]*\)/) && c ~ /at: /) {
					l = substr(c, RSTART + 1, RLENGTH - 2); f = frame(c)
					hint("lockdep (\"lock held when returning to user space\"): a call returned with " l " held" (f != "" ? " (taken in " f ")" : "") ": an error path skips the unlock")
					held = 0
				}
			}
			close(console)
		}
		wedged = 0
		if (want == "held") hint("lockdep (\"lock held when returning to user space\"): a call returned with a lock held: an error path skips the unlock")
		if (want == "soft" && task == 3) hint("kernel: soft lockup: a CPU spun and never left the kernel: " casloop)
		else if (want == "soft") hint("kernel: soft lockup: a CPU spun with preemption off and never got the lock: a spinlock left held")
		if (want == "nested") hint("a call that may sleep " nested)
		if (want ~ /^unbalanced/) hint("lockdep (\"bad unlock balance\"): a lock was released while not held: " twice)
		if (want == "hung") hint("kernel: hung task: a process asleep in state D that nothing wakes, and no signal can end")
		klog = 0; finish(); next
	}
	klog {
		nk++
		line = $0; sub(/^\[[ 0-9.]*\] /, "", line)
		if (want == "sleep" && (f = frame(line)) != "") {
			hint("sleeping function called from invalid context, in " f ": a spinlock holder may not sleep (fsleep, copy_from_user)")
			want = ""
		} else if (want == "held" && match(line, /\([^()]*\)/) && line ~ /at: /) {
			l = substr(line, RSTART + 1, RLENGTH - 2); f = frame(line)
			hint("lockdep (\"lock held when returning to user space\"): a call returned with " l " held" (f != "" ? " (taken in " f ")" : "") ": an error path skips the unlock")
			want = ""
		} else if (want == "soft" && task == 3 && (f = frame(line)) != "") {
			hint("kernel: soft lockup: a CPU spun in " f " and never left it: " casloop)
			want = ""
		} else if (want == "soft" && (f = frame(line)) != "") {
			hint("kernel: soft lockup: a CPU spun in " f " with preemption off and never got the lock: a spinlock left held, by a path that returns without unlocking it")
			want = ""
		} else if (want == "nested") {
			# The warning and its registers, up to the first frame of bank.ko.
			if ((f = frame(line)) != "") {
				hint("a call that may sleep (" f "()) " nested)
				want = ""
			}
		} else if (want == "unbalanced" && match(line, /\([^()]*\)/) && line ~ /at:/) {
			l = substr(line, RSTART + 1, RLENGTH - 2)
			want = "unbalanced-at"
		} else if (want == "unbalanced-at" && (f = frame(line)) != "") {
			hint("lockdep (\"bad unlock balance\"): " l " was released in " f " while not held: " twice)
			want = ""
		} else if (line ~ /do not call blocking ops when !TASK_RUNNING/) {
			want = "nested"
		} else if (line ~ /bad unlock balance detected/) {
			want = "unbalanced"
		} else if (line ~ /scheduling while atomic: .*\/0x00000000$/) {
			# The scheduler expects a count of 1, its own: one unlock too many.
			hint("kernel: scheduling while atomic with a preemption count of 0, one below the scheduler'"'"'s own: a spinlock was unlocked once more than it was locked: " twice)
		} else if (line ~ /BUG: spinlock already unlocked/) {
			hint("kernel: a spinlock was unlocked while not locked (\"spinlock already unlocked\"): " twice)
		} else if (want == "hung" && (f = frame(line)) != "") {
			hint("kernel: hung task: a process asleep in state D in " f " for over " hung " s: nothing wakes it, and no signal can end an uninterruptible sleep")
			want = ""
		} else if (want == "abba") {
			if (match(line, /\(bank_[a-z_0-9]+\)/)) {
				l = substr(line, RSTART + 1, RLENGTH - 2)
				if (!(l in locks)) { locks[l] = 1; names = names (names == "" ? "" : " and ") l }
			}
			if (line ~ /\*\*\* DEADLOCK \*\*\*/) {
				hint("lockdep: possible deadlock: " names " are taken in both orders: take the accounts in ascending account order, whatever the direction: the order statements take every account in (bank_mutex_lock_all(), bank_spin_lock_all()), and the one bank_lock_order() must give")
				want = ""
			}
		} else if (line ~ /sleeping function called from invalid context|scheduling while atomic/) {
			want = "sleep"
		} else if (line ~ /lock held when returning to user space/) {
			want = "held"
		} else if (line ~ /BUG: soft lockup/) {
			want = "soft"
		} else if (line ~ /INFO: task .* blocked for more than/) {
			want = "hung"; hung = line; sub(/.*more than /, "", hung); sub(/ .*/, "", hung)
		} else if (line ~ /possible circular locking dependency detected/) {
			want = "abba"; names = ""; split("", locks)
		} else if (line ~ /BUG: KCSAN: data-race in .*\[bank\]/) {
			sub(/.*data-race in /, "", line); gsub(/ \[bank\]/, "", line)
			hint("KCSAN: data race in " line ": two CPUs touched the same data at once: one of them outside the lock, or under a lock the other does not take")
		} else if (line ~ /BUG: KCSAN/) {
			;
		} else if (line ~ /(BUG|WARNING|Oops|general protection|Kernel panic|soft lockup|blocked for more than)/) {
			hint("kernel: " line)
		}
		next
	}
	END {
		if (name != "") {
			h = "the VM stopped during this task (a CPU stuck on a lock, or a crash)"
			# The console is the whole boot: its last report is this
			# task, unless a sleep in atomic context led to it.
			while ((getline c <console) > 0) {
				if (c ~ /BUG: KCSAN/) continue
				# An unlock too many comes first, then the
				# scheduler'"'"'s complaints it leads to.
				if (c ~ /bad unlock balance detected|spinlock already unlocked|scheduling while atomic: .*\/0x00000000/)
					unlocked = 1
				else if (unlocked == 1 && match(c, /\([^()]*\)/) && c ~ /is trying to release lock/) {
					l = substr(c, RSTART + 1, RLENGTH - 2); unlocked = 2
				} else if (c ~ /scheduling while atomic|sleeping function called/)
					slept = 1
				else if (c ~ /soft lockup|Oops|BUG:|general protection/) {
					last = c; sub(/^\[[ 0-9.]*\] /, "", last)
				}
			}
			if (unlocked)
				h = "a lock was released while not held" (l != "" ? " (" l ")" : "") ", then the VM died: " twice
			else if (slept)
				h = "sleeping function called from invalid context, then the VM died: a spinlock holder may not sleep (fsleep, copy_from_user)"
			else if (last != "")
				h = h ": " last
			hint(h); finish()
		}
	}'
}

# lab_sources: the files of a student's copy, one a line: the sources of
# bank.ko that module/Kbuild lists (bank-y), then the module's headers.
lab_sources() {
	sed -n '/^bank-y/,/[^\\]$/p' "$top/module/Kbuild" | tr -d '\\' |
		sed 's/^[^=]*=//' | tr ' \t' '\n\n' |
		sed -n 's|^\(.*\)\.o$|\1.c|p'
	for ls_h in "$top"/module/*.h; do
		echo "${ls_h##*/}"
	done
}

# lab_task_files "TASKS": the files that hold those tasks' regions, on one
# line, each named once.
lab_task_files() {
	for ltf_t in $1; do
		lab_task_file "$ltf_t"
	done | awk '!seen[$0]++' | paste -sd ' ' -
}

# The tasks, from lab/tasks: their numbers on one line; the file that
# holds task N; its name on the scorecard.
lab_tasks() {
	awk -F '\t' '/^[0-9]/ { printf "%s%s", sep, $1; sep = " " } END { print "" }' \
		"$top/lab/tasks"
}

lab_task_file() {
	awk -F '\t' -v t="$1" '$1 == t { print $2 }' "$top/lab/tasks"
}

lab_task_name() {
	awk -F '\t' -v t="$1" '$1 == t { print $3 }' "$top/lab/tasks"
}

# scorecard VERDICTS NAME "TASKS" "KERNELS": one line per task of NAME,
# PASS only if it passed on every kernel, each failure's hints below it,
# tagged with the kernels that showed them. Exit status 0 if all passed.
scorecard() {
	sc_verdicts=$1 sc_name=$2 sc_tasks=$3 sc_kernels=$4
	npass=0 ntasks=0
	echo "kbank lab: $sc_name, on the $(echo $sc_kernels | sed 's/ / and the /') kernel"
	for t in $sc_tasks; do
		ntasks=$((ntasks + 1))
		lines=$(awk -v n="$sc_name" -v t="$t" '$1 == n && ($2 == t || $2 == "*")' "$sc_verdicts")
		missing=""
		for k in $sc_kernels; do
			echo "$lines" | awk -v k="$k" '$3 == k { f = 1 } END { exit !f }' ||
				missing="$missing $k"
		done
		hints=$(echo "$lines" | awk -v missing="$missing" '
			$4 == "fail" { h = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ fail /, "", h)
				if (!(h in ks)) order[++n] = h
				ks[h] = ks[h] (ks[h] == "" ? "" : ", ") $3 }
			END {
				for (i = 1; i <= n; i++) print order[i] " [" ks[order[i]] "]"
				if (missing != "") print "not run: the VM stopped before this task [" substr(missing, 2) "]"
			}')
		if [ -z "$hints" ]; then
			npass=$((npass + 1))
			printf '%s %-42s PASS\n' "$t" "$(lab_task_name "$t")"
		else
			printf '%s %-42s FAIL\n' "$t" "$(lab_task_name "$t")"
			echo "$hints" | sed 's/^/      /'
		fi
	done
	echo "$npass of $ntasks tasks pass"
	[ "$npass" = "$ntasks" ]
}
