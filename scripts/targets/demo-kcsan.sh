#!/bin/sh
# make demo-kcsan: the kernel's race detector finds the race of lock mode
# none. Boots the debug kernel (make debug-kernel), races two processes,
# and prints KCSAN's report, trimmed, beside the lines of module/ it points
# to (the module is built with -g for that).
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"
"$scripts/targets/setup.sh" debug || exit 1
export KERNEL=debug KBANK_KCFLAGS=-g
eval "$("$scripts/kernels/kernel.sh")"
log="$top/build/vm-debug/results.log"
"$scripts/vm/vm.sh" -t 600 -- /kbank/guest/kcsan.sh | sed '/^KBANK-KCSAN-BEGIN$/,$d'
report=$(sed -n '/^KBANK-KCSAN-BEGIN$/,/^KBANK-KCSAN-END$/p' "$log" |
	sed '1d;$d' | sed 's/^\[[ 0-9.]*\] //')
[ -n "$report" ] || die "KCSAN reported nothing (see $log)"

echo
echo "What KCSAN printed (the first lines of each stack; full log: build/vm-debug/dmesg.log):"
echo
# The title, then each access with its innermost frame only.
printf '%s\n' "$report" | awk '
	/^BUG: KCSAN/ { print "  " $0; next }
	/^(read|write)/ { print ""; print "  " $0; getline; print "  " $0; next }
	/^value changed/ { print ""; print "  " $0 }'

echo
echo "Where those frames are in module/:"
for frame in $(printf '%s\n' "$report" | awk '/^(read|write)/ { getline; print $1 }' | sort -u); do
	# A stack holds return addresses: the access is one byte before.
	func=${frame%%+*} off=${frame#*+}
	off=$(printf '0x%x' $(( ${off%%/*} - 1 )))
	# The copy the guest loaded: module/bank.ko is rebuilt by every run.
	where=$("$KDIR/scripts/faddr2line" "$top/build/vm-debug/ko/bank.ko" "$func+$off/${frame#*/}" 2>/dev/null |
		sed -n 's|.* at .*\(module/[a-z_]*\.c:[0-9]*\).*|\1|p' | head -n 1)
	[ -n "$where" ] || continue
	file=${where%:*} line=${where##*:}
	echo
	echo "  $frame -> $file:$line"
	sed -n "$((line - 3)),$((line + 1))p" "$top/$file" |
		awk -v first=$((line - 3)) -v hit="$line" '
		{ n = first + NR - 1; printf "  %s %4d  %s\n", (n == hit ? ">>" : "  "), n, $0 }'
done
cat <<'TEXT'

Two CPUs ran bank_update_none() at once: one wrote account 0's balance
(a->balance) while the other had read it and was about to write back a
value computed from the old one. That is the lost update of the notebook,
caught by the kernel itself.
With lock=spinlock, mutex or atomic, `make check-debug` runs the same load
and KCSAN stays silent.
TEXT
