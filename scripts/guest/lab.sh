#!/bin/sh
# In the guest: the lab's examiner (scripts/lab/grade.sh). For each student
# module in /kbank/extra/list ("NAME TASKS", tasks comma-separated) and each
# task: load the module fresh, run `bank_lab TASK`, unload it, and print
# the kernel log of that task alone, between markers the host parses.
#
# A boot can be spent by a task: a process stuck in the kernel for good
# (bank_lab's exit status 3) keeps the module loaded, and lockdep turns
# itself off after its first report. Then this prints LAB-REBOOT and
# stops; the host boots again for the tasks not yet started.
rmmod bank 2>/dev/null
[ -f /kbank/extra/list ] || { echo "LAB: no student module"; exit 1; }

# The kernel's own detectors (stock kernel), sooner than their defaults: a
# task asleep in state D for 6 s, a CPU that does not schedule for 6 s
# (2 x watchdog_thresh) are reported with their stacks, in the task's
# kernel log. Not sooner: a loaded host can stall a virtual CPU for
# seconds, and a correct module must never be reported.
detect=6
[ -w /proc/sys/kernel/hung_task_timeout_secs ] &&
	echo $detect >/proc/sys/kernel/hung_task_timeout_secs
[ -w /proc/sys/kernel/watchdog_thresh ] &&
	echo $((detect / 2)) >/proc/sys/kernel/watchdog_thresh

# lockdep's reports stop after the first one, for the rest of the boot.
lockdep_on() {
	[ ! -r /proc/lockdep_stats ] ||
		awk '$1 == "debug_locks:" { exit $2 != 1 }' /proc/lockdep_stats
}

spent=""
exec 3</kbank/extra/list
while [ -z "$spent" ] && read -r name tasks <&3; do
	# "demo": the lesson's table with the student's module (make lab-demo).
	if [ "$tasks" = demo ]; then
		insmod "/kbank/extra/$name/bank.ko" && /kbank/guest/demo.sh
		continue
	fi
	for t in $(echo "$tasks" | tr , ' '); do
		if [ -n "$spent" ]; then
			break
		fi
		echo "LAB-TASK $name $t"
		dmesg -c >/dev/null
		if insmod "/kbank/extra/$name/bank.ko"; then
			bank_lab "$t"
			rc=$?
			if [ $rc = 3 ]; then
				# Stuck for good: bank_lab said so at once; the
				# kernel's detectors, with the stack, a little later.
				[ -e /proc/sys/kernel/watchdog_thresh ] &&
					sleep $((detect + 1))
				spent=1
			else
				# Killed processes may still be closing /dev/bank.
				for try in 1 2 3 4 5; do
					rmmod bank 2>/dev/null && break
					sleep 1
				done
				[ -d /sys/module/bank ] && spent=1 &&
					echo "LAB-OBS fail rmmod bank failed: is a reference (a descriptor, a lock) left behind?"
			fi
		else
			echo "LAB-OBS fail insmod bank.ko failed: see the kernel log"
		fi
		echo "LAB-KLOG-BEGIN"
		dmesg -c
		echo "LAB-KLOG-END $name $t"
		lockdep_on || spent=1
	done
done
exec 3<&-
if [ -n "$spent" ]; then
	echo "LAB-REBOOT"
else
	echo "LAB-ALL-DONE"
fi
