#!/bin/sh
# make lab-demo [EXERCISE=dir]: the lesson's demo (make demo) with the
# student's copy of the module: lost updates in every mode not fixed yet.
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "${1:-exercise}" 2>/dev/null && pwd) ||
	{ echo "lab-demo.sh: ${1:-exercise}: no such directory: make exercise writes one" >&2; exit 1; }
"$scripts/targets/setup.sh" demo || exit 1
KBANK_LAB="student:$src:demo" KBANK_EXPECT=caller KBANK_PREPARE="$scripts/lab/build.sh" \
	exec "$scripts/vm/vm.sh" -t 600 -- /kbank/guest/lab.sh
