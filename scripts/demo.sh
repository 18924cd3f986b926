#!/bin/sh
# make demo: set up, then run the notebook's experiment in every lock mode
# and print the table, in the running kernel (native path) or in the VM
# (lib.sh's run_path says which). Fails if a locked mode is ever wrong.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
"$here/setup.sh" || exit 1
if [ "$(run_path)" = native ]; then
	exec "$here/native.sh" demo.sh
fi
msg "QEMU run (KERNEL=${KERNEL:-stock}); on a machine that loads modules, the running kernel is used instead"
exec "$here/vm.sh" -t 300 -- /kbank/guest/demo.sh
