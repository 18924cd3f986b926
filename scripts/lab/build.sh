#!/bin/sh
# The lab's student modules, built for the VM: vm.sh's KBANK_PREPARE hook.
#
#   build.sh KDIR OUT
#
# KBANK_LAB="NAME:DIR:TASKS ..." names the students' copies (tasks
# comma-separated). Each copy is built against KDIR in a directory of its
# own, so that two kernels' objects never mix and a student's directory
# only ever holds sources. OUT/NAME/bank.ko is the result, and OUT/list
# ("NAME TASKS" per line) what scripts/guest/lab.sh grades; the guest finds
# OUT as /kbank/extra. A copy whose sources and kernel did not change since
# its last build is not built again: the lab boots several times for one
# grade. A copy that does not build is reported on stdout, in the console's
# place (LAB-BUILD-FAILED NAME, then LAB-BUILD-LOG lines).
set -eu
kdir=$1 out=$2
cache="$out.src"
mkdir -p "$out" "$cache"
for entry in ${KBANK_LAB:-}; do
	lname=${entry%%:*} rest=${entry#*:}
	lsrc=${rest%%:*} ltasks=${rest#*:}
	mkdir -p "$out/$lname"
	lsum=$( { echo "$kdir"; cat "$kdir/Module.symvers" 2>/dev/null; cat "$lsrc"/*.[ch] "$lsrc/Kbuild"; find "$lsrc/include" -type f -exec cat {} +; } | cksum)
	if [ -f "$cache/$lname/bank.ko" ] &&
		[ "$(cat "$cache/$lname.sum" 2>/dev/null)" = "$lsum" ]; then
		cp "$cache/$lname/bank.ko" "$out/$lname/"
		echo "$lname $ltasks" >>"$out/list"
		continue
	fi
	rm -rf "${cache:?}/$lname" "$cache/$lname.sum"
	mkdir -p "$cache/$lname"
	cp "$lsrc"/*.[ch] "$lsrc/Kbuild" "$cache/$lname/"
	cp -R "$lsrc/include" "$cache/$lname/"
	if make -s -C "$kdir" M="$cache/$lname" modules \
		>"$cache/$lname.log" 2>&1; then
		echo "$lsum" >"$cache/$lname.sum"
		cp "$cache/$lname/bank.ko" "$out/$lname/"
		echo "$lname $ltasks" >>"$out/list"
	else
		echo "LAB-BUILD-FAILED $lname"
		sed 's/^/LAB-BUILD-LOG /' "$cache/$lname.log" | head -n 40
	fi
done
