#!/bin/sh
# make vm-shell: the VM of make check with bank.ko loaded and a shell on its
# console, for trying things by hand. `poweroff` leaves.
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
"$scripts/targets/setup.sh" demo || exit 1
exec "$scripts/vm/vm.sh" -s
