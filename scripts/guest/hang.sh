#!/bin/sh
# In the guest: hang it on purpose, for the test of the harness's diagnosis
# of a hung guest (tests/harness/hung_guest.sh). kbank_hang.ko makes every CPU (or,
# with "one", only the loading CPU) spin with interrupts off.
echo "KBANK-STEP hang: insmod kbank_hang.ko cpus=${1:-all}"
echo "hanging the guest on purpose: every CPU will spin with interrupts off"
# The lines above leave through the serial port's interrupts, which stop
# with the hang: give them time to reach the host first.
sleep 2
insmod /kbank/kbank_hang.ko cpus="${1:-all}"
