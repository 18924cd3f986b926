#!/bin/sh
# make soak RUNS=n TARGET=t: run `make t` n times in a row and count, so
# that a flake rate is measured, not remembered. One line per run as it
# ends; a failed run's output and the logs it wrote under build/ are kept
# in build/soak/t/N/ and its last lines printed. Ends with the counts, the
# run times, the guests' longest silence (what vm.sh -i must stay above)
# and "N passed, N failed".
#   soak.sh RUNS TARGET
# Variables for the target (KERNEL=debug...) come from the environment,
# as make passes them.
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"

[ $# = 2 ] && [ "$1" -gt 0 ] 2>/dev/null ||
	die "usage: soak.sh RUNS TARGET (make soak RUNS=n TARGET=t)"
runs=$1 target=$2
out="$top/build/soak/$target"
rm -rf "$out"
mkdir -p "$out"
stamp="$out/.stamp"
passed=0 failed=0 times="" quiet=0 quiet_at=""
msg "make $target, $runs times; logs in $out"
i=0
while [ $i -lt "$runs" ]; do
	i=$((i + 1))
	: >"$stamp"
	start=$(date +%s)
	# A run of its own: the soak goes on whatever the target does.
	make -s -C "$top" "$target" >"$out/$i.log" 2>&1 </dev/null
	rc=$?
	secs=$(( $(date +%s) - start ))
	times="$times $secs"
	# vm.sh's "silent for N s at most ..., after: LINE": the longest
	# silence of any guest, and the line before it.
	q=$(sed -n 's/.*silent for \([0-9]*\) s at most.*after: \(.*\)/\1 \2/p' "$out/$i.log" |
		sort -n | tail -n 1)
	if [ -n "$q" ] && [ "${q%% *}" -gt "$quiet" ]; then
		quiet=${q%% *} quiet_at="run $i, after: ${q#* }"
	fi
	if [ $rc = 0 ]; then
		passed=$((passed + 1))
		echo "ok $i - make $target ($secs s)"
		rm -f "$out/$i.log"
	else
		failed=$((failed + 1))
		# Every log the run wrote under build/, the VM's console,
		# results and hang diagnosis among them.
		mkdir -p "$out/$i"
		mv "$out/$i.log" "$out/$i/make.log"
		(cd "$top/build" && find . -path ./soak -prune -o -type f \
			\( -name '*.log' -o -name '*.out' -o -name '*.err' \) \
			-newer "$stamp" -print) | while IFS= read -r f; do
			mkdir -p "$out/$i/$(dirname "$f")"
			cp "$top/build/$f" "$out/$i/$f"
		done
		echo "not ok $i - make $target (exit status $rc, $secs s): $out/$i/"
		tail -n 15 "$out/$i/make.log" | sed 's/^/#   /'
	fi
done
rm -f "$stamp"

summary=$(printf '%s\n' $times | sort -n | awk '
	{ t[NR] = $1 } END { printf "min %d s, median %d s, max %d s", t[1], t[int((NR + 1) / 2)], t[NR] }')
echo "# soak: make $target: $passed of $runs passed; $summary"
echo "# soak: guests silent for $quiet s at most${quiet_at:+ ($quiet_at)}"
[ $failed = 0 ] || echo "# soak: the failed runs' logs: $(ls -d "$out"/*/ | tr '\n' ' ')"
echo "$passed passed, $failed failed"
[ $failed = 0 ]
