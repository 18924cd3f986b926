#!/bin/sh
# In the guest: the lab's examiner (scripts/grade.sh). For each student
# module in /kbank/lab/list ("NAME TASKS", tasks comma-separated) and each
# task: load the module fresh, run `bank_lab TASK`, unload it, and print
# the kernel log of that task alone, between markers the host parses.
rmmod bank 2>/dev/null
[ -f /kbank/lab/list ] || { echo "LAB: no student module"; exit 1; }
while read -r name tasks; do
	# "demo": the lesson's table with the student's module (make lab-demo).
	if [ "$tasks" = demo ]; then
		insmod "/kbank/lab/$name/bank.ko" && /kbank/guest/demo.sh
		continue
	fi
	for t in $(echo "$tasks" | tr , ' '); do
		echo "LAB-TASK $name $t"
		dmesg -c >/dev/null
		if insmod "/kbank/lab/$name/bank.ko"; then
			bank_lab "$t"
			# Killed processes may still be closing /dev/bank.
			for try in 1 2 3 4 5; do
				rmmod bank 2>/dev/null && break
				sleep 1
			done
			[ -d /sys/module/bank ] &&
				echo "LAB-OBS fail rmmod bank failed: is a reference (a descriptor, a lock) left behind?"
		else
			echo "LAB-OBS fail insmod bank.ko failed: see the kernel log"
		fi
		echo "LAB-KLOG-BEGIN"
		dmesg -c
		echo "LAB-KLOG-END $name $t"
	done
done </kbank/lab/list
echo "LAB-ALL-DONE"
