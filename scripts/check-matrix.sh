#!/bin/sh
# make check-matrix: the whole suite of make check on every kernel kbank is
# tested on, one summary table, then the overall "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"
"$here/setup.sh" || exit 1
mkdir -p "$top/build"
table="$top/build/matrix.txt"
printf '%-8s %-28s %7s %7s %7s\n' kernel release passed failed seconds >"$table"
total_p=0 total_f=0
for k in 6.1 6.12 6.1-rt; do
	start=$(date +%s)
	echo "=== KERNEL=$k"
	KERNEL=$k "$here/check.sh" 2>&1 | tee "$top/build/matrix-$k.log"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$top/build/matrix-$k.log" | tail -n 1)
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed}
	[ -n "$line" ] || { p=0; f=1; }
	rel=$(sed -n 's/.*vm ([a-z0-9.-]* kernel \([^,]*\),.*/\1/p' "$top/build/matrix-$k.log" | tail -n 1)
	printf '%-8s %-28s %7d %7d %7d\n' "$k" "${rel:-?}" "$p" "$f" \
		$(( $(date +%s) - start )) >>"$table"
	total_p=$((total_p + p))
	total_f=$((total_f + f))
done
echo
cat "$table"
echo "$total_p passed, $total_f failed"
[ $total_f = 0 ]
