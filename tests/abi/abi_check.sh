#!/bin/sh
# The Python port's ABI must be the C header's: compare what each prints,
# for 64-bit and, where the compiler can, 32-bit builds. One TAP line each.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
out="$top/build/abi"
mkdir -p "$out"
failed=0
python3 "$top/userspace/python/bank.py" --dump >"$out/python.txt" 2>&1
for bits in 64 32; do
	if ! cc -m$bits -std=c11 -Wall -Wextra -Werror -I"$top/include/uapi" \
		-o "$out/abi_dump$bits" "$top/tests/abi/abi_dump.c" 2>"$out/cc$bits.log"; then
		[ $bits = 32 ] && { echo "ok - abi: 32-bit C build # SKIP no -m32 toolchain"; continue; }
	fi
	# A host kernel without 32-bit support (no IA32 emulation) cannot run
	# the 32-bit build: the guest's compat test still covers that ABI.
	if [ $bits = 32 ] && ! "$out/abi_dump$bits" >/dev/null 2>&1; then
		echo "ok - abi: Python bank.py matches the C header (32-bit) # SKIP this machine's kernel cannot run 32-bit programs"
		continue
	fi
	if "$out/abi_dump$bits" >"$out/c$bits.txt" &&
		diff -u "$out/c$bits.txt" "$out/python.txt" >"$out/diff$bits.txt"; then
		echo "ok - abi: Python bank.py matches the C header ($bits-bit)"
	else
		echo "not ok - abi: Python bank.py matches the C header ($bits-bit)"
		sed 's/^/#   /' "$out/diff$bits.txt" "$out/cc$bits.log"
		failed=$((failed + 1))
	fi
done
exit $failed
