#!/bin/sh
# make demo: set up, boot the VM, run the notebook's experiment in every
# lock mode and print the table. Fails if a locked mode is ever wrong.
set -u
here=$(cd "$(dirname "$0")" && pwd)
"$here/setup.sh" || exit 1
exec "$here/vm.sh" -t 300 -- /kbank/guest/demo.sh
