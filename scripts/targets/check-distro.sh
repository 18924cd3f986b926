#!/bin/sh
# make check-distro: the README's own-VM steps in a full Debian system, not
# kbank's busybox VM: systemd, udev, dkms, build-essential and Debian's own
# kernel and headers (scripts/kernels/distro-image.sh, cached). The system boots in
# QEMU from a throwaway qcow2 overlay of the cached image; at boot a systemd
# unit mounts a read-only copy of the repository (its tracked and untracked
# files, as a clone has them) over 9p and runs scripts/guest/distro-steps.sh: make,
# insmod, deposit & withdraw, the notebook, the udev rule, DKMS, then the
# native make demo and make check. One TAP line per step.
#   check-distro.sh [SUITE...]     default: bookworm sid
# Ends with "N passed, N failed". QEMU's exit status is not trusted: the
# steps' end marker must arrive.
set -u
scripts=$(cd "$(dirname "$0")/.." && pwd)
top=$(cd "$scripts/.." && pwd)
. "$scripts/lib.sh"
"$scripts/targets/setup.sh" distro || exit 1
suites=${*:-bookworm sid}
limit=${KBANK_DISTRO_TIMEOUT:-3600}
mkdir -p "$top/build"
log="$top/build/check-distro.log"
: >"$log"

# What a clone of the working tree holds, without build products.
src="$top/build/distro-src"
rm -rf "$src"
mkdir -p "$src"
(cd "$top" && git ls-files --cached --others --exclude-standard |
	while IFS= read -r f; do [ ! -e "$f" ] || echo "$f"; done |
	cpio -pdm --quiet "$src") || die "copying the repository failed"

for suite in $suites; do
	start=$(date +%s)
	echo "=== $suite"
	dir="$top/build/distro-$suite"
	mkdir -p "$dir"
	if ! env=$("$scripts/kernels/distro-image.sh" "$suite"); then
		echo "not ok - distro ($suite): system image built" | tee -a "$log"
		continue
	fi
	eval "$env"
	accel=$(qemu_accel "$VMLINUZ")
	cpu=""
	[ "$accel" = kvm ] && cpu="-cpu host"
	boot=1
	while :; do
		rm -f "$dir/overlay.qcow2"
		qemu-img create -q -f qcow2 -b "$IMAGE" -F raw "$dir/overlay.qcow2" ||
			{ echo "not ok - distro ($suite): overlay created" | tee -a "$log"; break; }
		: >"$dir/results.log"
		# no_timer_check: on a loaded host, TCG can miss the kernel's boot-time
		# timer check and panic ("IO-APIC + timer doesn't work"); seen on 7.2.
		timeout -k 5 "$limit" qemu-system-x86_64 -accel "$accel" $cpu -smp 2 -m 2048 \
			-nodefaults -display none -no-reboot -nic none \
			-kernel "$VMLINUZ" -initrd "$INITRD" \
			-append "root=/dev/vda rw console=ttyS0 panic=-1 oops=panic no_timer_check systemd.show_status=false" \
			-drive file="$dir/overlay.qcow2",if=virtio,format=qcow2 \
			-fsdev local,id=kb,path="$src",security_model=none,readonly=on \
			-device virtio-9p-pci,fsdev=kb,mount_tag=kbank \
			-serial file:"$dir/console.log" -serial stdio </dev/null 2>"$dir/qemu.err" |
			sed -u 's/\r$//' | tee "$dir/results.log" | grep --line-buffered -E '^(ok|not ok|#)' | tee -a "$log"
		rm -f "$dir/overlay.qcow2"
		# A panic while the system boots, before any step ran and so before
		# bank.ko was ever loaded (the Oops says "Not tainted"), is Debian's
		# kernel under QEMU's emulation, not kbank: seen on 7.2 under TCG, an
		# int3 Oops in devcgroup_check_permission() as systemd started, where
		# the kernel patches its own code live. One more boot, said in a line.
		if [ $boot = 1 ] && ! grep -qE '^(ok|not ok) ' "$dir/results.log" &&
			grep -q 'Kernel panic' "$dir/console.log" &&
			grep -q 'Not tainted' "$dir/console.log"; then
			cp "$dir/console.log" "$dir/console-boot1.log"
			echo "# $suite: the kernel panicked while booting, before any step ($(grep -m 1 -oE '(Oops|BUG): .*' "$dir/console.log" | head -c 60) in $(grep -m 1 -o 'RIP: 0010:[^ ]*' "$dir/console.log" | cut -c 11-)); booting once more, the first console in $dir/console-boot1.log"
			boot=2
			continue
		fi
		break
	done
	if ! grep -q '^KBANK-DISTRO-END$' "$dir/results.log"; then
		echo "not ok - distro ($suite, $KVER): the steps finished # hang past ${limit}s, panic or crash; see $dir/console.log" | tee -a "$log"
		tail -n 30 "$dir/console.log" >&2
		cat "$dir/qemu.err" >&2
	fi
	echo "# $suite: $(( $(date +%s) - start )) s"
done

passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok' "$log")
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
