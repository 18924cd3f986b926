#!/bin/sh
# make demo-readers: statements read while transfers run, one row per
# strategy of bank.ko's parameter "statement", in the running kernel
# (native path) or in the VM (lib.sh's run_path says which). Fails if a
# strategy that promises whole statements ever shows a torn one.
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
. "$scripts/lib.sh"
"$scripts/targets/setup.sh" demo || exit 1
# Eight accounts: a statement reads them all, a transfer two.
export KBANK_PARAMS="accounts=8"
if [ "$(run_path)" = native ]; then
	exec "$scripts/targets/native.sh" demo-readers.sh
fi
msg "QEMU run (KERNEL=${KERNEL:-stock}); on a machine that loads modules, the running kernel is used instead"
# -i 120: a row every few seconds.
KBANK_RERUN="make demo-readers" exec "$scripts/vm/vm.sh" -t 400 -i 120 \
	-p "$KBANK_PARAMS" -- /kbank/guest/demo-readers.sh
