#!/bin/sh
# In the guest: the suite (tests/suite/), one program per topic, in this
# order; suite-kernel last, as its taint check covers what the others did.
# suite-programs also runs the 32-bit builds and the Python port. Arguments
# select tests by name, as each program's do (suite-ioctls --help); a
# program with none of them is not run. Each program prints TAP, and the
# suite's total follows. Exit status: 0 when no program failed, else 1.
progs="device ioctls wait modes reply transfer programs trace interest statement kernel"
out=${TMPDIR:-/tmp}/kbank-suite.$$
passed=0 failed=0 skipped=0 rc=0
for p in $progs; do
	if [ $# -gt 0 ] && [ -z "$(suite-$p --list "$@")" ]; then
		continue
	fi
	echo "# suite-$p"
	# Streamed as it runs: the VM's watchdog wants a line per test.
	{ suite-$p "$@"; echo $? >"$out.rc"; } | tee "$out"
	st=$(cat "$out.rc")
	[ "$st" = 0 ] || rc=1
	# A program that ends without saying which test failed still counts.
	if [ "$st" != 0 ] && ! grep -q '^not ok' "$out"; then
		echo "not ok - suite-$p (exit status $st)"
		failed=$((failed + 1))
	fi
	passed=$((passed + $(grep '^ok ' "$out" | grep -vc '# SKIP')))
	skipped=$((skipped + $(grep -c '^ok .*# SKIP' "$out")))
	failed=$((failed + $(grep -c '^not ok' "$out")))
done
rm -f "$out" "$out.rc"
echo "# suite: $passed passed, $failed failed, $skipped skipped"
exit $rc
