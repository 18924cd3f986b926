#!/bin/sh
# In check-distro's VM, a full Debian system, run as root by systemd at boot
# (kbank-distro.service) with the repository mounted read-only on /mnt/kbank:
# the README's "On your own VM" steps as a student types them, one TAP line
# each, then the native make demo and make check. The udev and DKMS steps
# are read from the comments of udev/99-bank.rules and dkms.conf, where the
# README sends the reader, and run as written. Everything goes to the second
# serial port (the host's results file), ending with KBANK-DISTRO-END, then
# the VM powers off.
exec >/dev/ttyS1 2>&1
export HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive
label="distro ($(. /etc/os-release && echo "${VERSION_CODENAME:-$ID}"), $(uname -r))"
log=/var/tmp/kbank-step.log

# check DESCRIPTION COMMAND...: one TAP line; the output's end on failure.
# The output also goes to the console (the host's console.log), to follow.
check() {
	desc=$1
	shift
	echo "kbank-distro: $desc" >/dev/ttyS0
	{ "$@"; echo $? >$log.rc; } 2>&1 | tee $log >/dev/ttyS0
	if [ "$(cat $log.rc)" = 0 ]; then
		echo "ok - $label: $desc"
	else
		echo "not ok - $label: $desc"
		tail -n 25 $log | sed 's/^/#   /'
	fi
}

# The repository as a clone would have it, where every user can read it.
rm -rf /srv/kbank
cp -a /mnt/kbank /srv/kbank
cd /srv/kbank || exit 1

# README: apt-get install build-essential linux-headers-$(uname -r)
check "build-essential and linux-headers-$(uname -r) installed" \
	apt-get install -y build-essential "linux-headers-$(uname -r)"
# README: make; insmod module/bank.ko
check "make builds bank.ko and the programs" \
	sh -c 'make && test -f module/bank.ko && test -x userspace/deposit'
check "insmod module/bank.ko: /dev/bank reads 200" \
	sh -c 'insmod module/bank.ko && test "$(cat /dev/bank)" = 200'
# README: deposit & withdraw & wait
check "deposit & withdraw & wait: the balance ends at 200" sh -c '
	userspace/deposit & userspace/withdraw & wait
	userspace/bankctl stats
	test "$(cat /dev/bank)" = 200 &&
		userspace/bankctl stats | grep -qx "deposits: *100" &&
		userspace/bankctl stats | grep -qx "withdrawals: *100"'
# README: python3 userspace/python/notebook.py   # prints 200
check "python3 userspace/python/notebook.py prints 200" sh -c '
	python3 userspace/python/notebook.py | tee /dev/stderr | tail -n 1 | grep -qx 200'

# udev/99-bank.rules says how to install it: its "#   " comment lines, as
# the user "student" (USER=student); "other" is not in group bank.
useradd -m student
useradd -m other
sed -n 's/^#   //p' udev/99-bank.rules >/var/tmp/udev-steps.sh
check "udev/99-bank.rules installed as its comment says ($(wc -l </var/tmp/udev-steps.sh) commands)" \
	sh -c 'cat /var/tmp/udev-steps.sh; USER=student sh -ex /var/tmp/udev-steps.sh && udevadm settle'
check "/dev/bank: group bank, mode 0660" \
	sh -c 'ls -l /dev/bank; test "$(stat -c "%G %a" /dev/bank)" = "bank 660"'
check "a member of group bank deposits" \
	runuser -u student -- userspace/bankctl deposit 5
check "a non-member is refused with EACCES" sh -c '
	! runuser -u other -- userspace/bankctl stats 2>&1 | tee /dev/stderr | grep -q "^balance" &&
	runuser -u other -- userspace/bankctl stats 2>&1 | grep -q "Permission denied"'
check "changing lock stays root's: the member is refused, lock unchanged" sh -c '
	! runuser -u student -- userspace/bankctl lock spinlock &&
	test "$(cat /sys/module/bank/parameters/lock)" = mutex'
check "rmmod bank" sh -c 'rmmod bank && test ! -e /sys/module/bank'

# dkms.conf says how to install with DKMS: its "#   " comment lines.
sed -n 's/^#   //p' dkms.conf >/var/tmp/dkms-steps.sh
check "dkms install as dkms.conf's comment says" \
	sh -c 'cat /var/tmp/dkms-steps.sh; sh -ex /var/tmp/dkms-steps.sh'
check "modprobe bank loads the DKMS build" sh -c '
	modprobe bank && test "$(cat /dev/bank)" = 200 && modinfo -n bank | tee /dev/stderr | grep -q "/updates/\|/extra/"'
check "modinfo bank lists the parameters lock, initial_balance, delay_us" sh -c '
	modinfo bank | tee /dev/stderr | grep "^parm:" >/var/tmp/parm &&
	grep -q "^parm: *lock:" /var/tmp/parm &&
	grep -q "^parm: *initial_balance:" /var/tmp/parm &&
	grep -q "^parm: *delay_us:" /var/tmp/parm'
check "rmmod bank, then dkms remove: the module is gone" sh -c '
	rmmod bank && dkms remove kbank/1.0 --all && ! modinfo bank'

# The README's two commands, natively in this kernel (no QEMU here).
make clean >/dev/null
check "make demo runs natively and passes" sh -c '
	make demo >/var/tmp/demo.log 2>&1; rc=$?
	cat /var/tmp/demo.log
	grep -q "native run" /var/tmp/demo.log || { echo "no native run"; exit 1; }
	[ $rc = 0 ] && test ! -e /sys/module/bank'
check "make check runs natively: N passed, 0 failed" sh -c '
	make check >/var/tmp/check.log 2>&1
	cat /var/tmp/check.log
	grep -q "native run" /var/tmp/check.log || { echo "no native run"; exit 1; }
	grep "^not ok" /var/tmp/check.log
	tail -n 1 /var/tmp/check.log | grep -Eq "^[1-9][0-9]* passed, 0 failed$" &&
		test ! -e /sys/module/bank'
grep -E '^[0-9]+ passed, [0-9]+ failed$' /var/tmp/check.log | sed 's/^/# make check: /'

echo "KBANK-DISTRO-END"
sync
poweroff -f
