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

# The accelerator QEMU should use for kernel image $1: kvm when KVM really
# runs a guest (users' laptops), tcg otherwise (CI). A /dev/kvm that opens is
# not enough: nested KVM can hang a guest after its first instructions, or
# make QEMU abort, so the probe boots $1 until it prints its version (a few
# seconds), and its verdict is kept per host kernel. The probe runs in a
# subshell whose stderr is discarded: the shell's own "Aborted" for a QEMU
# killed by SIGABRT would otherwise reach the terminal unexplained; the
# explanation is printed instead. KBANK_ACCEL=tcg|kvm forces one.
qemu_accel() {
	probe="$KBANK_CACHE/accel-$(uname -r)"
	if [ -n "${KBANK_ACCEL:-}" ]; then
		echo "$KBANK_ACCEL"
		return
	fi
	if [ ! -f "$probe" ]; then
		mkdir -p "$KBANK_CACHE"
		verdict=tcg
		if [ -w /dev/kvm ]; then
			if (timeout 15 qemu-system-x86_64 -accel kvm \
				-cpu host -m 256 -nodefaults -display none -no-reboot \
				-nic none -serial stdio -kernel "$1" \
				-append "console=ttyS0 panic=-1" </dev/null 2>/dev/null |
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

# How make demo and make check run: "native" on a machine whose kernel can
# load modules (/proc/modules exists: a student's VM, a laptop), in the
# running kernel with scripts/native.sh; "qemu" elsewhere (CI, containers),
# in a VM with scripts/vm.sh. KBANK_RUN=native|qemu forces one. The debug
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
#  - the data race between two bank_update_none() or bank_transfer_none():
#    lock mode none's race, kept on purpose (the suite asserts that KCSAN
#    reports it);
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
		if ($0 ~ /BUG: KCSAN: data-race in bank_(update|transfer)_none \[bank\] \/ bank_(update|transfer)_none \[bank\]$/)
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
