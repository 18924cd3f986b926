#!/bin/sh
# Boot kbank's VM and run one command in it.
#
#   vm.sh [-t SECONDS] [-i SECONDS] [-p 'bank.ko params'] [-s] -- COMMAND [ARGS...]
#
# Builds the module against the chosen kernel (KERNEL=stock|debug|sanitize, see
# kernel.sh), the static programs and the initramfs, boots QEMU (the
# kernel's architecture: the machine's, or GUEST_ARCH from kernel.sh, arm64
# on amd64; lib.sh's qemu_arch holds what differs), streams
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
# KBANK_KCMDLINE="..." adds kernel parameters.
# KBANK_EXPECT=lockdep: lockdep's circular-dependency or inconsistent-state
# report is expected;
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
GUEST_ARCH=""
eval "$kenv"
name=${KERNEL:-stock}
dir="$top/build/vm-$name"
mkdir -p "$dir/bin" "$dir/ko"
# The guest's architecture. Another one than the machine's (the arm64 row of
# make check-matrix on amd64) has its chroot (CHROOT) run through qemu-user:
# the programs are built in it, its busybox is the guest's, and it is the
# root shared over 9p, so that the guest's python3, trace-cmd and perf are
# of its architecture; the repository is a second share, at its own path.
host_arch=$(dpkg --print-architecture)
arch=${GUEST_ARCH:-$host_arch}
qemu_arch "$arch"
foreign=""
if [ "$arch" != "$host_arch" ]; then
	foreign=1
	[ -n "${CHROOT:-}" ] || die "a $arch kernel on $host_arch needs its chroot (extra-kernel.sh)"
	binfmt_ready "$arch"
fi

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
# Another architecture's programs are built in its chroot, through qemu-user
# (108 s for all of them on 2 busy cores, measured, once: make keeps them
# until a source changes). Debian's cross compilers took 23 s, but on amd64
# they conflict with gcc-multilib, which make check needs.
guest_make=top_make
[ -z "$foreign" ] || guest_make=kmake
$guest_make -s progs OUT="$dir/bin" STATIC=1 >>"$dir/build.log" 2>&1 ||
	{ cat "$dir/build.log" >&2; die "program build failed"; }
# The suite's programs and the fuzzer as 32-bit processes, for the compat
# ioctl path (lib.sh's compat_make: i386 on amd64, armhf on arm64):
# suite-TOPIC32 beside suite-TOPIC.
rm -f "$dir"/bin/suite-*32 "$dir/bin/bank_fuzz32"
if compat_make $guest_make "$arch" "$dir/bin32" STATIC=1 >>"$dir/build.log" 2>&1; then
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
# The results port: a second 16550 UART on amd64 (ttyS1); on arm64, whose
# virt board has one UART, a virtio console (hvc0; Debian builds its
# driver as a module, which the guest loads first).
case $arch in
arm64)	results_tty=hvc0 results_dev="-device virtio-serial-pci"
	results_port() { echo "-chardev $1,id=results -device virtconsole,chardev=results"; }
	guest_mods=virtio_console ;;
*)	results_tty=ttyS1 results_dev="" guest_mods=""
	results_port() { echo "-chardev $1,id=results -serial chardev:results"; } ;;
esac
share=/
[ -z "$foreign" ] || share=$CHROOT
KBANK_RESULTS_TTY=$results_tty KBANK_GUEST_MODS=$guest_mods \
	KBANK_REPO_SHARE=$foreign \
	KBANK_BUSYBOX=$([ -n "$foreign" ] && echo "$CHROOT/bin/busybox" || echo /bin/busybox) \
	"$scripts/vm/initramfs.sh" "$dir/initramfs.cpio.gz" "$dir/bin" "$dir/ko" \
	"$MODDIR" "$params" "$dir/extra"

accel=$(qemu_accel "$VMLINUZ" "$arch")
cpu=$qa_cpu
[ "$accel" = kvm ] && cpu="-cpu host"
console="$dir/console.log" results="$dir/results.log"
qmp="$dir/qmp.sock" pidfile="$dir/qemu.pid" hang="$dir/hang.log"
done="$dir/qemu.done"

# no_timer_check: a loaded host can make TCG miss the boot-time timer check,
# a panic ("IO-APIC + timer doesn't work") that has nothing to do with us.
# secretmem.enable=1: memfd_secret() for the suite (6.1 keeps it off).
# unknown_nmi_panic panic_print=0x40: the NMI that vm_diagnose sends a hung
# guest through QEMU's monitor panics it, and the panic prints every CPU's
# backtrace; 0x01 adds every task's state and stack, for a guest whose CPUs
# idle while a process waits for what never comes. Without them the NMI
# prints nothing: printk from NMI context waits for an interrupt that a CPU
# spinning with interrupts off never takes.
# arm64 has neither no_timer_check nor unknown_nmi_panic (x86 parameters; an
# unknown one would reach /init as an argument), and QEMU's nmi command does
# not reach a virt board's CPUs: there, a hung guest's diagnosis has
# QEMU's registers but no backtraces.
kcmd="console=$qa_tty quiet panic=-1 oops=panic secretmem.enable=1 panic_print=0x41"
[ "$arch" = arm64 ] || kcmd="$kcmd no_timer_check unknown_nmi_panic"
[ "$name" = debug ] && kcmd="$kcmd kcsan.skip_watch=200"
# KBANK_KCMDLINE: more kernel parameters (the harness's own test boots a
# kernel that cannot find its init).
kcmd="$kcmd${KBANK_KCMDLINE:+ $KBANK_KCMDLINE}"
# KBANK_SMP: CPUs for the tests that need more than two to mean anything.
set -- $qa_qemu $qa_machine -accel "$accel" $cpu -smp "${KBANK_SMP:-2}" -m 1024 \
	-nodefaults -display none -no-reboot -nic none \
	-kernel "$VMLINUZ" -initrd "$dir/initramfs.cpio.gz" \
	-fsdev "local,id=hr,path=$share,security_model=none,readonly=on,multidevs=remap" \
	-device virtio-9p-pci,fsdev=hr,mount_tag=hostroot \
	-qmp "unix:$qmp,server=on,wait=off" -pidfile "$pidfile" \
	-name kbank,debug-threads=on $results_dev
[ -z "$foreign" ] || set -- "$@" \
	-fsdev "local,id=repo,path=$top,security_model=none,readonly=on,multidevs=remap" \
	-device virtio-9p-pci,fsdev=repo,mount_tag=kbankrepo

if [ -n "$shell" ]; then
	# The console is the terminal; Ctrl-A X also leaves.
	exec "$@" -serial mon:stdio $(results_port "file,path=$results") \
		-append "$kcmd -- shell"
fi

# 9p shares the host's root read-only: python3 in the guest. QEMU names
# its threads (debug-threads: "CPU 0/TCG"...), for vm_diagnose. QEMU runs in
# the background, watched (lib.sh's vm_watch) for its end, the -t limit and
# the -i silence; its output goes through awk, which keeps results.log and
# shows the user what is not protocol (KBANK-*) or a recorded trace.
# boot_guest: one boot; sets why (empty, or why the guest was stopped).
boot_guest() {
	: >"$console"
	: >"$results"
	rm -f "$qmp" "$pidfile" "$hang" "$done"
	start=$(date +%s)
	set +e
	( "$@" -serial "file:$console" $(results_port stdio) \
		-append "$kcmd -- $guest" </dev/null 2>"$dir/qemu.err" |
		stream_awk -v results="$results" '
		{ sub(/\r$/, ""); print >results; fflush(results) }
		/^KBANK-DMESG-BEGIN$/ { quiet = 1 }
		/^KBANK-TRACE-BEGIN / { trace = 1 }
		!quiet && !trace && !/^KBANK-(EXIT:|STEP )/ { print; fflush() }
		/^KBANK-TRACE-END$/ { trace = 0 }'
		: >"$done" ) &
	vm=$!
	# Ctrl-C or a TERM: QEMU ends too, not left running with nobody to
	# read it.
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
}
boot_guest "$@"
# A guest that crashed or hung before its /init loaded bank.ko failed in
# the kernel's own boot, which kbank cannot cause: booted once more, and
# said so. Seen under TCG: QEMU 7.2 with 8 vCPUs, 1 boot in 4 of Debian's
# 7.2 kernel ended in "Oops: int3" while the kernel patched its own code
# (docs/troubleshooting.md). A second failure is reported as any other.
if [ -z "$(vm_exit_status "$results")" ] && ! vm_reached_kbank "$results"; then
	cp "$console" "$dir/console-first-boot.log"
	echo "# vm.sh: the kernel failed at its boot, before bank.ko was loaded ($(vm_boot_failure "$console" "$why")); booting it again, once (first console: $dir/console-first-boot.log)"
	boot_guest "$@"
fi
sed -n '/^KBANK-DMESG-BEGIN$/,/^KBANK-DMESG-END$/p' "$results" >"$dir/dmesg.log"
status=$(vm_exit_status "$results")
problems=$( { kernel_log_problems "$console"; kernel_log_problems "$dir/dmesg.log"; } | sort -u)
# KBANK_EXPECT=lockdep (make demo-deadlock, make demo-irq): lockdep's report
# of the ABBA between two bank accounts, or of a lock taken in a softirq
# and with softirqs on, is the point; any other problem still fails.
if [ "${KBANK_EXPECT:-}" = lockdep ] &&
	grep -q -e 'possible circular locking dependency detected' \
		-e 'inconsistent lock state' "$dir/dmesg.log"; then
	problems=$(printf '%s\n' "$problems" |
		grep -v -e 'possible circular locking dependency detected' \
			-e 'inconsistent lock state' -e 'Call Trace' || true)
fi
label="vm ($name kernel $KVER, $accel)"
if [ -n "$why" ]; then
	echo "not ok - $label: guest finished # hung: $why"
	cat "$hang" >&2
	exit 1
fi
if [ -z "$status" ]; then
	echo "not ok - $label: guest finished # panic or crash"
	msg "the guest stopped before its end; its console from the first Oops, BUG or panic (all of it: $console):"
	vm_console_failure "$console" >&2
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
