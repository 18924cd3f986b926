# Shared helpers for kbank's scripts. Source it; it defines, never runs.

# Where kbank keeps what it builds outside the work tree (kernels, initramfs
# pieces). Overridable so that CI or a user can point it elsewhere.
KBANK_CACHE=${KBANK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kbank}

msg() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { msg "$*"; exit 1; }

# make in the repository ($top) for the module of the chosen kernel: here,
# or, for an extra kernel (CHROOT set by kernel.sh), inside the chroot of its
# own release, with the compiler Debian builds that kernel's modules with.
# The repository is bind-mounted at its own path, and /proc mounted (objtool
# reads it), in a private mount namespace: the mounts end with the command,
# however it ends.
kmake() {
	if [ -z "${CHROOT:-}" ]; then
		make -C "$top" "$@"
		return
	fi
	unshare -m --propagation private sh -c '
		root=$1 top=$2
		shift 2
		mkdir -p "$root$top" &&
			mount --bind "$top" "$root$top" &&
			mount -t proc proc "$root/proc" &&
			exec chroot "$root" make -C "$top" "$@"' \
		sh "$CHROOT" "$top" "$@"
}

# binfmt_ready ARCH: programs of Debian architecture ARCH (arm64, armhf) run
# on this machine through qemu-user-static, as chroots of that architecture
# need. Nothing when they run already (the machine's own architecture, or a
# registration systemd-binfmt or an earlier run made); else, as root, mount
# binfmt_misc and register the interpreter Debian's qemu-user-static
# describes (flag F: the interpreter is opened now, so it works in chroots).
binfmt_ready() {
	case $1 in
	arm64) br_q=aarch64 ;;
	armhf | armel) br_q=arm ;;
	*) br_q=$1 ;;
	esac
	[ "$1" != "$(dpkg --print-architecture)" ] || return 0
	[ -e "/proc/sys/fs/binfmt_misc/qemu-$br_q" ] && return 0
	br_conf=/usr/lib/binfmt.d/qemu-$br_q.conf
	[ -f "$br_conf" ] ||
		die "no $br_conf to run $1 programs: apt-get install qemu-user-static"
	[ "$(id -u)" = 0 ] || die "registering qemu-$br_q with binfmt_misc needs root"
	[ -e /proc/sys/fs/binfmt_misc/register ] ||
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
		die "cannot mount binfmt_misc: $1 programs cannot run here"
	grep -v '^#' "$br_conf" >/proc/sys/fs/binfmt_misc/register 2>/dev/null ||
		[ -e "/proc/sys/fs/binfmt_misc/qemu-$br_q" ] ||
		die "registering $br_conf with binfmt_misc failed"
}

# qemu_arch ARCH: what QEMU needs for a guest of Debian architecture ARCH,
# in variables: qa_qemu the binary; qa_machine the machine's options;
# qa_tty the console, as the guest names it; qa_cpu the CPU model under TCG
# (KVM takes the host's). amd64: QEMU's default PC, its 16550 UARTs. arm64:
# the virt board, its one PL011 UART, the newest interrupt controller the
# accelerator has (GICv3 under TCG; under KVM the host's, which a GICv2
# default would not boot on hosts without one); -cpu max is every feature TCG
# emulates (LSE atomics among them), with the cheap implementation-defined
# pointer authentication: the architected one (QARMA), emulated, made the
# kernel's every function return several times slower.
qemu_arch() {
	case $1 in
	amd64) qa_qemu=qemu-system-x86_64 qa_machine="" qa_tty=ttyS0 qa_cpu="" ;;
	arm64) qa_qemu=qemu-system-aarch64 qa_machine="-M virt,gic-version=max" qa_tty=ttyAMA0
		qa_cpu="-cpu max,pauth-impdef=on" ;;
	*) die "no QEMU guest for the $1 architecture (amd64 or arm64)" ;;
	esac
}

# The accelerator QEMU should use for kernel image $1 of architecture $2
# (default: the machine's): kvm when KVM really runs a guest (users'
# laptops), tcg otherwise (CI, and always for another architecture). A
# /dev/kvm that opens is not enough: nested KVM can hang a guest after its
# first instructions, or make QEMU abort, so the probe boots $1 until it
# prints its version (a few seconds), and its verdict is kept per host
# kernel. The probe runs in a subshell whose stderr is discarded: the
# shell's own "Aborted" for a QEMU killed by SIGABRT would otherwise reach
# the terminal unexplained; the explanation is printed instead.
# KBANK_ACCEL=tcg|kvm forces one.
qemu_accel() {
	probe="$KBANK_CACHE/accel-$(uname -r)"
	qa_arch=${2:-$(dpkg --print-architecture)}
	if [ -n "${KBANK_ACCEL:-}" ]; then
		echo "$KBANK_ACCEL"
		return
	fi
	if [ "$qa_arch" != "$(dpkg --print-architecture)" ]; then
		echo tcg
		return
	fi
	if [ ! -f "$probe" ]; then
		mkdir -p "$KBANK_CACHE"
		verdict=tcg
		qemu_arch "$qa_arch"
		if [ -w /dev/kvm ]; then
			if (timeout 15 $qa_qemu $qa_machine -accel kvm \
				-cpu host -m 256 -nodefaults -display none -no-reboot \
				-nic none -serial stdio -kernel "$1" \
				-append "console=$qa_tty panic=-1" </dev/null 2>/dev/null |
				grep -q -m 1 'Linux version') 2>/dev/null; then
				verdict=kvm
			else
				msg "/dev/kvm exists, but a test boot under KVM did not reach the kernel's first line within 15 s (QEMU hung or aborted: nested virtualization often does)."
				msg "Using TCG instead: QEMU emulates the CPU, slower but correct. KBANK_ACCEL=kvm forces KVM; the verdict is kept in $probe."
			fi
		fi
		echo "$verdict" >"$probe"
	fi
	cat "$probe"
}

# compat_make MAKE ARCH OUT [MAKE ARGS...]: the programs built as 32-bit
# processes of ARCH's compat ABI, into OUT, by the command MAKE (make in the
# repository, or lib.sh's kmake in a chroot): with -m32 on amd64
# (gcc-multilib), for armhf on arm64 (gcc-arm-linux-gnueabihf, linked
# statically: an arm64 machine seldom has armhf's libc). Fails where that
# compiler is missing, or for another ARCH.
compat_make() {
	cm_make=$1 cm_arch=$2 cm_out=$3
	shift 3
	case $cm_arch in
	amd64) $cm_make -s progs OUT="$cm_out" CFLAGS="-O2 -m32" "$@" ;;
	arm64) $cm_make -s progs OUT="$cm_out" CC=arm-linux-gnueabihf-gcc \
			CFLAGS=-O2 STATIC=1 "$@" ;;
	*) return 1 ;;
	esac
}

# make in the repository ($top), for compat_make.
top_make() { make -C "$top" "$@"; }

# How make demo and make check run: "native" on a machine whose kernel can
# load modules (/proc/modules exists: a student's VM, a laptop), in the
# running kernel with scripts/targets/native.sh; "qemu" elsewhere (CI, containers),
# in a VM with scripts/vm/vm.sh. KBANK_RUN=native|qemu forces one. The debug
# kernel and the matrix's kernels (KERNEL=...) always run in QEMU.
run_path() {
	case ${KBANK_RUN:-} in
	native|qemu) echo "$KBANK_RUN" ;;
	"")	if [ "${KERNEL:-stock}" = stock ] && [ -e /proc/modules ]; then
			echo native
		else
			echo qemu
		fi ;;
	*)	die "KBANK_RUN=$KBANK_RUN: native or qemu" ;;
	esac
}

# Print the lines of a kernel log that must fail a run: BUG, WARNING, Oops,
# INFO:, Call Trace, a panic, a lockdep or sleep-in-atomic splat. Two kinds
# of KCSAN report are left out, each a block between "====" lines:
#  - the data race between two of bank_update_none(), bank_transfer_none()
#    and bank_interest_none() (the interest payer, interest.c):
#    lock mode none's race, kept on purpose (the suite asserts that KCSAN
#    reports it); and statement=none's, bank_statement_none() against any
#    bank function that writes a balance;
#  - a report with no frame in bank.ko: a race inside the kernel itself
#    (6.1 has a few, in cpumask and scheduler code), not ours to fix. It is
#    printed to stderr as a note, not counted.
kernel_log_problems() {
	tr -d '\r' <"$1" | awk '
	function flush() {
		if (nblock && !ours_expected && (bank || !kcsan))
			for (i = 1; i <= nblock; i++) print block[i]
		else if (nblock && kcsan && !bank)
			print "note: KCSAN report outside bank.ko, not counted: " title >"/dev/stderr"
		nblock = 0; kcsan = 0; bank = 0; ours_expected = 0
	}
	/^(\[[ 0-9.]*\] )?=+$/ {
		if (in_block) flush()
		in_block = !in_block
		next
	}
	in_block {
		if ($0 ~ /BUG: KCSAN:/) { kcsan = 1; title = $0 }
		if ($0 ~ /BUG: KCSAN: data-race in bank_(update|transfer|interest)_none \[bank\] \/ bank_(update|transfer|interest)_none \[bank\]$/)
			ours_expected = 1
		if ($0 ~ /BUG: KCSAN: data-race in (bank_statement_none \[bank\] \/ bank_[a-z_]+|bank_[a-z_]+ \[bank\] \/ bank_statement_none) \[bank\]$/)
			ours_expected = 1
		if ($0 ~ /\[bank\]/) bank = 1
		if ($0 ~ /BUG|WARNING|Oops|INFO:|Call Trace|Kernel panic|circular locking|sleeping function called/)
			block[++nblock] = $0
		next
	}
	/BUG|WARNING|Oops|INFO:|Call Trace|Kernel panic|circular locking|sleeping function called/ { print }
	END { if (in_block) flush() }
	'
}

# awk for a stream read as it comes (QEMU's output): mawk, Debian's awk,
# reads a pipe in blocks of kilobytes and handles a line only when its
# block is full, so the user saw the guest's lines in bursts and results.log
# lagged behind; -W interactive makes it read line by line. Other awks
# (gawk, busybox) already handle what has arrived.
stream_awk() {
	if awk -W version 2>/dev/null | grep -q '^mawk'; then
		awk -W interactive "$@"
	else
		awk "$@"
	fi
}

# A guest of vm.sh that stops answering is diagnosed, never just killed.
# The guest's scripts mark their steps on the results port with a line
# "KBANK-STEP what it is doing" (scripts/guest/init marks the command);
# vm.sh keeps those lines out of what the user sees.

# vm_step RESULTS: the step that was running, as the guest last marked it.
vm_step() {
	vs=$(sed -n 's/^KBANK-STEP //p' "$1" | tail -n 1)
	echo "${vs:-booting (the guest had not started its command)}"
}

# vm_console_failure CONSOLE: the console from its first Oops, BUG or
# panic on, 60 lines (the whole console when it has none of them).
vm_console_failure() {
	tr -d '\r' <"$1" | awk '/Oops:|BUG:|Kernel panic|WARNING:/ { on = 1 }
		on && n++ < 60 { print } { last[NR % 60] = $0 }
		END { if (!on) for (i = NR - 59; i <= NR; i++) if (i > 0) print last[i % 60] }'
}

# vm_exit_status RESULTS: the guest command's exit status, or nothing when
# the guest never reported one (it crashed, hung or was stopped).
vm_exit_status() {
	sed -n 's/^KBANK-EXIT: \([0-9]*\)$/\1/p' "$1" | tail -n 1
}

# vm_reached_kbank RESULTS: true once the guest's /init went as far as
# loading bank.ko (its first KBANK-STEP, printed just before insmod).
vm_reached_kbank() {
	grep -q '^KBANK-STEP ' "$1"
}

# vm_boot_failure CONSOLE WHY: one line naming how a boot failed: WHY (a
# hang), else the console's first Oops, BUG or panic line and where.
vm_boot_failure() {
	if [ -n "$2" ]; then
		echo "$2"
		return
	fi
	# An Oops's own RIP follows it; a panic's "RIP:" lines belong to
	# other CPUs' backtraces.
	awk '{ sub(/^\[[ 0-9.]*\] /, "") }
		!what && /Oops:|BUG:|Kernel panic/ { what = $0; oops = !/Kernel panic/; next }
		what && oops && /RIP:/ { sub(/^.*RIP: [0-9]*:/, ""); what = what " in " $0; exit }
		END { print what ? what : "no Oops on its console" }' "$1"
}

# vm_watch DONE RESULTS LIMIT IDLE: wait until the file DONE exists (the
# QEMU pipeline made it as it ended), and set vw_why to "" then; or stop
# waiting, with vw_why saying why the guest should be stopped, when it ran
# LIMIT seconds, or printed nothing on the results port for IDLE seconds
# (0: no such limit). vw_quiet: the longest silence seen after the boot,
# in whole seconds, and vw_quiet_after: the line before it. A file, not
# the pipeline's pid: an ended child that is not reaped yet still answers
# kill -0. Kernel messages on the console do not count as progress: a guest
# that repeats soft-lockup or RCU-stall reports is stuck all the same. The
# boot, before the guest's first line, has at least 120 s: it takes 5 s on
# an idle machine, and was seen to take 26 s under TCG on 2 busy cores.
vm_watch() {
	vw_done=$1 vw_results=$2 vw_limit=$3 vw_idle=$4
	vw_start=$(date +%s)
	vw_last=$vw_start vw_size=0 vw_why="" vw_quiet=0 vw_line="" vw_quiet_after=""
	while [ ! -e "$vw_done" ]; do
		sleep 1
		vw_now=$(date +%s)
		vw_s=$(wc -c <"$vw_results")
		if [ "$vw_s" != "$vw_size" ]; then
			# The longest silence after the boot, for vm.sh to report:
			# what -i must stay above.
			if [ "$vw_size" != 0 ] && [ $((vw_now - vw_last)) -gt "$vw_quiet" ]; then
				vw_quiet=$((vw_now - vw_last))
				vw_quiet_after=$vw_line
			fi
			vw_size=$vw_s vw_last=$vw_now
			vw_line=$(tail -n 1 "$vw_results")
		fi
		if [ $((vw_now - vw_start)) -ge "$vw_limit" ]; then
			vw_why="still running after $vw_limit s, its time limit (vm.sh -t)"
			return
		fi
		vw_allow=$vw_idle
		[ "$vw_size" = 0 ] && [ "$vw_allow" -gt 0 ] && [ "$vw_allow" -lt 120 ] &&
			vw_allow=120
		if [ "$vw_allow" -gt 0 ] && [ $((vw_now - vw_last)) -ge "$vw_allow" ]; then
			if [ "$vw_size" = 0 ]; then
				vw_why="still booting after $vw_allow s"
			else
				vw_why="no output for $vw_allow s (vm.sh -i)"
			fi
			return
		fi
	done
}

# vm_kill PIDFILE: end the QEMU whose pid is in PIDFILE, if it still runs.
vm_kill() {
	[ -s "$1" ] || return 0
	vk=$(cat "$1")
	kill -TERM "$vk" 2>/dev/null || return 0
	for _ in 1 2 3 4 5; do
		kill -0 "$vk" 2>/dev/null || return 0
		sleep 1
	done
	kill -KILL "$vk" 2>/dev/null || :
}

# vm_threads PID: QEMU's threads, as the host sees them: name, state, the
# share of a host CPU each used over one second, and where the kernel has
# it waiting. A vCPU thread ("CPU 0/TCG") busy near 100% runs the guest
# (or spins in it); one asleep in a futex waits for a lock of QEMU's own:
# a hang of QEMU, not of the guest.
vm_threads() {
	# /proc's stat after "pid (name) ", a name that may hold spaces:
	# $1 the state, $12 and $13 the user and system time in ticks.
	for vt in /proc/"$1"/task/*; do
		echo "$vt $(sed 's/.*) //' "$vt/stat" 2>/dev/null | awk '{ print $12 + $13 }')"
	done >"$vd_dir/threads.0"
	sleep 1
	while read -r vt t0; do
		[ -r "$vt/stat" ] || continue
		set -- $(sed 's/.*) //' "$vt/stat" | awk '{ print $1, $12 + $13 }')
		printf '%-18s %s %3d%% of a CPU  %s\n' "$(cat "$vt/comm")" "$1" \
			$(( ($2 - t0) * 100 / $(getconf CLK_TCK) )) "$(cat "$vt/wchan")"
	done <"$vd_dir/threads.0"
	rm -f "$vd_dir/threads.0"
}

# vm_diagnose DIR WHY RERUN: vm.sh's QEMU in DIR is to be stopped (WHY);
# find out what its CPUs are doing, stop it, and print the diagnosis:
# the step, the guest's last lines, the console's, each CPU's backtrace,
# and what the user can do (RERUN: the command to run again).
#  - QEMU's registers first (info registers -a through the QMP socket):
#    they need nothing from the guest, so they say something even when the
#    guest can print nothing.
#  - Then an NMI to every CPU (QEMU's nmi command). The guest boots with
#    unknown_nmi_panic and panic_print=0x41, so the NMI panics it and the
#    panic prints every CPU's backtrace on the console, even of a CPU
#    spinning with interrupts off (an NMI is not masked), then every
#    task's state and stack, of which the processes' (not the kernel's
#    threads) are shown: when every CPU idles, they say who waits. The panic then
#    ends QEMU (-no-reboot); it is given 30 s, the backtrace of a CPU that
#    does not answer waits 10 of them.
vm_diagnose() {
	vd_dir=$1 vd_why=$2 vd_rerun=$3
	vd_console=$vd_dir/console.log vd_results=$vd_dir/results.log
	vd_pidfile=$vd_dir/qemu.pid
	vd_lines=$(wc -l <"$vd_console")
	vd_pid=$(cat "$vd_pidfile" 2>/dev/null) || vd_pid=""
	vd_threads=$([ -z "$vd_pid" ] || vm_threads "$vd_pid")
	vd_regs=$(python3 "$top/scripts/vm/qmp.py" "$vd_dir/qmp.sock" \
		"info registers -a" 2>&1 |
		awk '/^CPU#/ { cpu = $1 }
			/^(RIP|PC)=/ { for (i = 1; i <= NF; i++) if ($i ~ /^(RIP|PC|CPL|HLT)=/) cpu = cpu " " $i; print cpu }')
	python3 "$top/scripts/vm/qmp.py" "$vd_dir/qmp.sock" nmi >/dev/null 2>&1 || :
	for _ in $(seq 30); do
		[ -n "$vd_pid" ] && kill -0 "$vd_pid" 2>/dev/null || break
		sleep 1
	done
	vm_kill "$vd_pidfile"

	msg "the guest hung: $vd_why."
	msg "the step that was running: $(vm_step "$vd_results")"
	msg "the guest's last lines:"
	grep -v '^KBANK-' "$vd_results" | tail -n 5 | sed 's/^/  | /'
	grep -qv '^KBANK-' "$vd_results" || echo "  | (none)"
	msg "the console's last lines before the NMI:"
	head -n "$vd_lines" "$vd_console" | tr -d '\r' | tail -n 20 | sed 's/^/  | /'
	[ "$vd_lines" != 0 ] || echo "  | (empty)"
	# From the panic's first "NMI backtrace": each CPU's, the frames of
	# the NMI itself and the register dumps left out (console.log has all).
	vd_bt=$(tail -n +"$((vd_lines + 1))" "$vd_console" | tr -d '\r' | awk '
		{ sub(/^\[[ 0-9.]*\] /, "") }
		/^NMI backtrace for cpu/ { on = 1 }
		/^(Kernel Offset|---\[ end Kernel panic|Shutting down cpus|task:|Sched Debug)/ { on = 0 }
		!on { next }
		/^ *<NMI>$/ { nmi = 1; next }
		/^ *<\/NMI>$/ { nmi = 0; next }
		/^NMI backtrace|^RIP: / { print; next }
		/^CPU: / { sub(/ Tainted:.*| Not tainted.*/, ""); print; next }
		nmi || /^ *\? / || !/^ / { next }
		{ print }')
	if [ -n "$vd_bt" ]; then
		msg "each CPU's backtrace, printed by the guest after an NMI through QEMU's monitor:"
		printf '%s\n' "$vd_bt" | sed 's/^/  | /'
	else
		msg "after an NMI through QEMU's monitor, the guest printed no backtrace; its console since:"
		tail -n +"$((vd_lines + 1))" "$vd_console" | tr -d '\r' | tail -n 20 | sed 's/^/  | /'
	fi
	# The tasks after it (panic_print's 0x01): the processes, those whose
	# parent is not kthreadd (pid 2), with the frames the unwinder is sure of.
	vd_tasks=$(tail -n +"$((vd_lines + 1))" "$vd_console" | tr -d '\r' | awk '
		{ sub(/^\[[ 0-9.]*\] /, "") }
		/^task:/ { on = !/ pid:2 / && !/ ppid:2 / && !/ pid:0 /
			if (on) { sub(/ stack:[0-9 ]*/, " "); sub(/ flags:.*/, ""); print; n++ }
			next }
		/^(Kernel Offset|---\[ end Kernel panic|Sched Debug|Showing)/ { on = 0 }
		/^ *<TASK>$/ { stack = 1; next }
		/^ *<\/TASK>$/ { stack = 0; next }
		on && stack && /^ [a-z_]/ { print }
		n > 12 { exit }')
	if [ -n "$vd_tasks" ]; then
		msg "the guest's processes, their state (R running, S asleep, D asleep and deaf to signals) and where:"
		printf '%s\n' "$vd_tasks" | sed 's/^/  | /'
	fi
	msg "QEMU's registers before the NMI (CPL=0: in the kernel; HLT=1: idle):"
	printf '%s\n' "${vd_regs:-(QEMU's monitor did not answer)}" | sed 's/^/  | /'
	msg "QEMU's threads on the host, before the NMI (R: running; a vCPU thread asleep, S, in a futex: QEMU itself is stuck):"
	printf '%s\n' "${vd_threads:-(QEMU had ended)}" | sed 's/^/  | /'
	msg "what to do: run $vd_rerun again (a hang under emulation may not come back); if it hangs again, attach $vd_dir/hang.log and $vd_console to your report."
}
