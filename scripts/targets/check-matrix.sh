#!/bin/sh
# make check-matrix: the whole suite of make check on every extra kernel of
# the matrix (scripts/kernels/extra-kernel.sh --list: each Debian release's newest
# kernel, its module built in a chroot of that release; and the arm64 row,
# bookworm's arm64 kernel under qemu-system-aarch64), one summary table,
# then the overall "N passed, N failed". A kernel the archive no longer
# serves is a table row "skipped" with the reason, not a failure.
#   check-matrix.sh [NAME...]     only these kernels
#   check-matrix.sh --fetch [NAME...]  only fetch them (default: all; CI
#                                 starts it early)
# The kernels are fetched one after the other in the background while the
# suite runs on those already there (the fetch is mostly network, the suite
# CPU); extra-kernel.sh's lock makes each wait for its own.
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"

fetch() {
	for k in "$@"; do
		KERNEL=$k "$scripts/kernels/kernel.sh" >/dev/null || true
	done
}
if [ "${1:-}" = --fetch ]; then
	shift
	fetch ${*:-$("$scripts/kernels/extra-kernel.sh" --list)}
	exit 0
fi
"$scripts/targets/setup.sh" matrix || exit 1
kernels=${*:-$("$scripts/kernels/extra-kernel.sh" --list)}
mkdir -p "$top/build"
fetch $kernels 2>"$top/build/matrix-fetch.log" &
fetcher=$!
trap 'kill $fetcher 2>/dev/null' EXIT

table="$top/build/matrix.txt"
printf '%-13s %-12s %-24s %-22s %-7s %6s %6s %7s\n' name release "kernel (uname -r)" \
	package gcc passed failed seconds >"$table"
total_p=0 total_f=0
for k in $kernels; do
	start=$(date +%s)
	echo "=== KERNEL=$k"
	log="$top/build/matrix-$k.log"
	KERNEL=$k "$scripts/targets/check.sh" 2>&1 | tee "$log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed}
	[ -n "$line" ] || { p=0; f=1; }
	secs=$(( $(date +%s) - start ))
	skip=$(sed -n "s/^ok - kernel $k # SKIP //p" "$log")
	if [ -n "$skip" ]; then
		printf '%-13s %s\n' "$k" "skipped: $skip" >>"$table"
	elif kenv=$(KERNEL=$k "$scripts/kernels/kernel.sh" 2>/dev/null); then
		KVER="" RELEASE="" VERSION="" COMPILER=""
		eval "$kenv"
		# "gcc-10 (Debian 10.2.1-6) 10.2.1 20210110": the version after ")".
		gcc=$(printf '%s\n' "$COMPILER" | sed -n 's/.*) \([0-9][0-9.]*\).*/\1/p')
		printf '%-13s %-12s %-24s %-22s %-7s %6d %6d %7d\n' "$k" "$RELEASE" \
			"$KVER" "$VERSION" "${gcc:-?}" "$p" "$f" "$secs" >>"$table"
	else
		printf '%-13s %-12s %-24s %-22s %-7s %6d %6d %7d\n' "$k" ? ? ? ? \
			"$p" "$f" "$secs" >>"$table"
	fi
	total_p=$((total_p + p))
	total_f=$((total_f + f))
done
echo
cat "$table"
echo "$total_p passed, $total_f failed"
[ $total_f = 0 ]
