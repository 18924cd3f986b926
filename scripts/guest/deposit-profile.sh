#!/bin/sh
# In the guest: where an uncontended deposit's time goes. For the null
# ioctl and each lock mode's deposit (one worker, bank-bench), perf samples
# the CPU (cpu-clock, a software event that works under TCG) and reports
# each function's share of the samples; bank-bench's row gives the CPU
# time per operation. scripts/tools/deposit_profile.py turns the two into
# nanoseconds per function per call (make bench-profile).
#
# Lines: KBANK-PROFILE-ROW ROUND NAME CSV (bank-bench's row),
# KBANK-PROFILE-SYM ROUND NAME PERCENT SYMBOL (perf report's lines).
perf=/host/usr/bin/perf
if [ ! -x $perf ]; then
	echo "deposit-profile: no perf in the host's root over 9p (scripts/targets/setup.sh check installs linux-perf)" >&2
	exit 1
fi
# perf runs from the host's root (chroot), so the program and the data
# must be where that root sees them: the guest's /dev, bound into it.
cp /kbank/bin/bank-bench /dev/shm/bank-bench
rc=0
# Three rounds, the runs interleaved, so that a stretch of a busy host
# weighs on every run alike; the host takes each function's median.
for round in 1 2 3; do
	for what in null_ioctl none spinlock mutex atomic; do
		case $what in
		null_ioctl) args="-b null_ioctl" ;;
		*) args="-b deposit -m $what -D 0" ;;
		esac
		echo "deposit-profile: round $round: $what" >&2
		echo "KBANK-STEP deposit-profile: round $round: $what"
		if ! chroot /host perf record -q -e cpu-clock -F 10000 -o /dev/shm/perf.data \
			-- /dev/shm/bank-bench $args -w 1 -S 3 -t 300 >/dev/shm/row; then
			echo "deposit-profile: $what: perf record or bank-bench failed" >&2
			rc=1
			continue
		fi
		echo "KBANK-PROFILE-ROW $round $what $(cat /dev/shm/row)"
		chroot /host perf report -i /dev/shm/perf.data --stdio -q --sort sym 2>/dev/null |
			awk -v r=$round -v w="$what" '$1 ~ /%$/ { sub(/%$/, "", $1); print "KBANK-PROFILE-SYM", r, w, $1, $NF }'
	done
done
exit $rc
