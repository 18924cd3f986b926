# Shared helpers for kbank's scripts. Source it; it defines, never runs.

# Where kbank keeps what it builds outside the work tree (kernels, initramfs
# pieces). Overridable so that CI or a user can point it elsewhere.
KBANK_CACHE=${KBANK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kbank}

msg() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { msg "$*"; exit 1; }

# The accelerator QEMU should use for kernel image $1: kvm when KVM really
# runs a guest (users' laptops), tcg otherwise (CI). A /dev/kvm that opens is
# not enough: nested KVM can hang a guest after its first instructions, so
# the probe boots $1 until it prints its version (a few seconds), and its
# verdict is kept per host kernel. KBANK_ACCEL=tcg|kvm forces one.
qemu_accel() {
	probe="$KBANK_CACHE/accel-$(uname -r)"
	if [ -n "${KBANK_ACCEL:-}" ]; then
		echo "$KBANK_ACCEL"
		return
	fi
	if [ ! -f "$probe" ]; then
		mkdir -p "$KBANK_CACHE"
		verdict=tcg
		if [ -w /dev/kvm ] && timeout 15 qemu-system-x86_64 -accel kvm \
			-cpu host -m 256 -nodefaults -display none -no-reboot \
			-nic none -serial stdio -kernel "$1" \
			-append "console=ttyS0 panic=-1" </dev/null 2>/dev/null |
			grep -q -m 1 'Linux version'; then
			verdict=kvm
		fi
		echo "$verdict" >"$probe"
	fi
	cat "$probe"
}

# Print the lines of a kernel log that must fail a run: BUG, WARNING, Oops,
# INFO:, Call Trace, a panic, a lockdep or sleep-in-atomic splat. One report is
# expected and skipped: KCSAN's data race between two bank_update_none(), the
# unlocked mode's race that the module keeps on purpose.
kernel_log_problems() {
	tr -d '\r' <"$1" | awk '
	/^(\[[ 0-9.]*\] )?=+$/ { in_block = !in_block; skip = 0; next }
	in_block && /BUG: KCSAN: data-race in bank_update_none \[bank\] \/ bank_update_none \[bank\]$/ { skip = 1 }
	skip { next }
	/BUG|WARNING|Oops|INFO:|Call Trace|Kernel panic|circular locking|sleeping function called/ { print }
	'
}
