#!/bin/sh
# Boot kbank's VM and run one command in it.
#
#   vm.sh [-t SECONDS] [-i SECONDS] [-p 'bank.ko params'] [-s] -- COMMAND [ARGS...]
#
# Builds the module against the chosen kernel (KERNEL=stock|debug|sanitize, see
# kernel.sh), the static programs and the initramfs, boots QEMU, streams
# what COMMAND prints and exits with COMMAND's exit status. A guest that
# panics, or logs BUG, WARNING, Oops and the like fails the run with its
# console shown. A guest still running after -t seconds (default 300), or
# silent for -i seconds (default 300; 0: no limit), counts as hung: it is
# asked for every CPU's backtrace, stopped, and the diagnosis printed and
# kept in build/vm-KERNEL/hang.log (lib.sh's vm_diagnose). Pick -i above the
# longest silence of the guest's slowest step (vm.sh prints the longest it
# saw; make soak the longest over many runs); the boot has 120 s at least. Lines between
# KBANK-TRACE-BEGIN NAME and KBANK-TRACE-END (a recorded trace) go to
# results.log only, as do the guest's step markers (KBANK-STEP). KBANK_RERUN
# names the command the diagnosis tells the user to run again (make demo).
# -s: interactive shell instead.
#
# KBANK_PREPARE="CMD" runs "CMD KDIR DIR" after the build, against the guest's
# kernel; DIR reaches the guest as /kbank/extra.
# KBANK_EXPECT=lockdep: lockdep's circular-dependency report is expected;
# KBANK_EXPECT=caller: the caller judges the kernel log itself, so problems
# in it do not fail the run.
set -eu
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"

limit=300 idle=300 params="" shell=""
while getopts t:i:p:s opt; do
	case $opt in
	t) limit=$OPTARG ;;
	i) idle=$OPTARG ;;
	p) params=$OPTARG ;;
	s) shell=1 ;;
	*) die "usage: vm.sh [-t SECONDS] [-i SECONDS] [-p PARAMS] [-s] -- COMMAND..." ;;
	esac
done
shift $((OPTIND - 1))

guest="$*"
kenv=$("$scripts/kernels/kernel.sh") || die "no kernel to boot (KERNEL=${KERNEL:-stock})"
eval "$kenv"
name=${KERNEL:-stock}
dir="$top/build/vm-$name"
mkdir -p "$dir/bin" "$dir/ko"

# Build: the module against the guest's kernel, programs linked statically.
CHROOT=${CHROOT:-}
kmake -s module KDIR="$KDIR" KCFLAGS="${KBANK_KCFLAGS:-}" \
	>"$dir/build.log" 2>&1 ||
	{ cat "$dir/build.log" >&2; die "module build failed"; }
# Only what this build made: a module left from another kernel would not load.
rm -f "$dir"/ko/*.ko
for ko in $(sed 's/\.o$/.ko/' "$top/modules.order"); do
	case $ko in /*) ;; *) ko="$top/$ko" ;; esac
	cp "$ko" "$dir/ko/"
done
# KBANK_EXTRA_KO: more modules for the guest's /kbank (make bench's variant).
for ko in ${KBANK_EXTRA_KO:-}; do
	cp "$ko" "$dir/ko/"
done
make -s -C "$top" progs OUT="$dir/bin" STATIC=1 >>"$dir/build.log" 2>&1 ||
	{ cat "$dir/build.log" >&2; die "program build failed"; }
# The suite's programs and the fuzzer as 32-bit processes, for the compat
# ioctl path: suite-TOPIC32 beside suite-TOPIC.
rm -f "$dir"/bin/suite-*32 "$dir/bin/bank_fuzz32"
if make -s -C "$top" progs OUT="$dir/bin32" STATIC=1 CFLAGS="-O2 -m32" \
	>>"$dir/build.log" 2>&1; then
	for p in "$dir"/bin32/suite-* "$dir/bin32/bank_fuzz"; do
		cp "$p" "$dir/bin/${p##*/}32"
	done
fi
# KBANK_PREPARE: a command run as "CMD KDIR DIR" once the module is built;
# what it leaves in DIR (emptied first) the guest finds in /kbank/extra.
rm -rf "$dir/extra"
mkdir -p "$dir/extra"
if [ -n "${KBANK_PREPARE:-}" ]; then
	$KBANK_PREPARE "$KDIR" "$dir/extra" || die "KBANK_PREPARE failed: $KBANK_PREPARE"
fi
"$scripts/vm/initramfs.sh" "$dir/initramfs.cpio.gz" "$dir/bin" "$dir/ko" \
	"$MODDIR" "$params" "$dir/extra"

accel=$(qemu_accel "$VMLINUZ")
cpu=""
[ "$accel" = kvm ] && cpu="-cpu host"
console="$dir/console.log" results="$dir/results.log"
qmp="$dir/qmp.sock" pidfile="$dir/qemu.pid" hang="$dir/hang.log"
done="$dir/qemu.done"
: >"$console"
: >"$results"
rm -f "$qmp" "$pidfile" "$hang" "$done"

# no_timer_check: a loaded host can make TCG miss the boot-time timer check,
# a panic ("IO-APIC + timer doesn't work") that has nothing to do with us.
# secretmem.enable=1: memfd_secret() for the suite (6.1 keeps it off).
# unknown_nmi_panic panic_print=0x40: the NMI that vm_diagnose sends a hung
# guest through QEMU's monitor panics it, and the panic prints every CPU's
# backtrace. Without them the NMI prints nothing: printk from NMI context
# waits for an interrupt that a CPU spinning with interrupts off never takes.
kcmd="console=ttyS0 quiet panic=-1 oops=panic no_timer_check secretmem.enable=1"
kcmd="$kcmd unknown_nmi_panic panic_print=0x40"
[ "$name" = debug ] && kcmd="$kcmd kcsan.skip_watch=200"
# KBANK_SMP: CPUs for the tests that need more than two to mean anything.
set -- qemu-system-x86_64 -accel "$accel" $cpu -smp "${KBANK_SMP:-2}" -m 1024 \
	-nodefaults -display none -no-reboot -nic none \
	-kernel "$VMLINUZ" -initrd "$dir/initramfs.cpio.gz" \
	-fsdev local,id=hr,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=hr,mount_tag=hostroot \
	-qmp "unix:$qmp,server=on,wait=off" -pidfile "$pidfile" \
	-name kbank,debug-threads=on

if [ -n "$shell" ]; then
	# The console is the terminal; Ctrl-A X also leaves.
	exec "$@" -serial mon:stdio -serial "file:$results" \
		-append "$kcmd -- shell"
fi

# 9p shares the host's root read-only: python3 in the guest. QEMU names
# its threads (debug-threads: "CPU 0/TCG"...), for vm_diagnose. QEMU runs in
# the background, watched (lib.sh's vm_watch) for its end, the -t limit and
# the -i silence; its output goes through awk, which keeps results.log and
# shows the user what is not protocol (KBANK-*) or a recorded trace.
start=$(date +%s)
set +e
( "$@" -serial "file:$console" -serial stdio \
	-append "$kcmd -- $guest" </dev/null 2>"$dir/qemu.err" |
	stream_awk -v results="$results" '
	{ sub(/\r$/, ""); print >results; fflush(results) }
	/^KBANK-DMESG-BEGIN$/ { quiet = 1 }
	/^KBANK-TRACE-BEGIN / { trace = 1 }
	!quiet && !trace && !/^KBANK-(EXIT:|STEP )/ { print; fflush() }
	/^KBANK-TRACE-END$/ { trace = 0 }'
	: >"$done" ) &
vm=$!
# Ctrl-C or a TERM: QEMU ends too, not left running with nobody to read it.
trap 'vm_kill "$pidfile"; exit 130' INT TERM
vm_watch "$done" "$results" "$limit" "$idle"
why=$vw_why
trap - INT TERM
if [ -n "$why" ]; then
	vm_diagnose "$dir" "$why" "${KBANK_RERUN:-the same command}" >"$hang" 2>&1
fi
wait "$vm"
set -e
msg "guest ran $(( $(date +%s) - start )) s, silent for $vw_quiet s at most after its boot (-i $idle), after: $(printf %.60s "$vw_quiet_after")"

sed -n '/^KBANK-DMESG-BEGIN$/,/^KBANK-DMESG-END$/p' "$results" >"$dir/dmesg.log"
status=$(sed -n 's/^KBANK-EXIT: \([0-9]*\)$/\1/p' "$results" | tail -n 1)
problems=$( { kernel_log_problems "$console"; kernel_log_problems "$dir/dmesg.log"; } | sort -u)
# KBANK_EXPECT=lockdep (make demo-deadlock): lockdep's report of the ABBA
# between two bank accounts is the point; any other problem still fails.
if [ "${KBANK_EXPECT:-}" = lockdep ] &&
	grep -q 'possible circular locking dependency detected' "$dir/dmesg.log"; then
	problems=$(printf '%s\n' "$problems" |
		grep -v -e 'possible circular locking dependency detected' \
			-e 'Call Trace' || true)
fi
label="vm ($name kernel $KVER, $accel)"
if [ -n "$why" ]; then
	echo "not ok - $label: guest finished # hung: $why"
	cat "$hang" >&2
	exit 1
fi
if [ -z "$status" ]; then
	echo "not ok - $label: guest finished # panic or crash"
	msg "the guest stopped before its end; the end of its console:"
	tail -n 60 "$console" >&2
	cat "$dir/qemu.err" >&2
	msg "the step that was running: $(vm_step "$results")"
	msg "what to do: run ${KBANK_RERUN:-the same command} again; if it fails again, attach $console and $results to an issue."
	exit 1
fi
[ "${KBANK_EXPECT:-}" = caller ] && problems=""
if [ -n "$problems" ]; then
	echo "not ok - $label: guest kernel log clean"
	msg "the guest kernel logged problems (full log: $dir/dmesg.log):"
	printf '%s\n' "$problems" >&2
	exit 1
fi
echo "ok - $label: guest finished, kernel log clean"
exit "$status"
