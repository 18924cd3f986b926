#!/usr/bin/env python3
"""Where an uncontended deposit's time goes: make bench-profile's tables.

Reads the guest's lines (scripts/guest/deposit-profile.sh) from a results
log: for each round and run, bank-bench's CSV row (its cpu_ns_per_op: the
worker's CPU time per call) and perf's share of the samples per function.
A function's nanoseconds per call are its share times the CPU time per
call; each is the median of the rounds. Prints, per lock mode, the
functions a deposit runs and the null ioctl does not, in nanoseconds per
deposit, and their sum: the deposit's own path.

Usage: deposit_profile.py RESULTS_LOG [MIN_NS]
"""
import statistics
import sys
from collections import defaultdict

CPU_NS = 9  # bank-bench's CSV: cpu_ns_per_op
RUNS = ("null_ioctl", "none", "spinlock", "mutex", "atomic")


def read(path):
    """{run: [per-round {function: ns per call}]}, {run: [cpu ns per call]}"""
    cpu = defaultdict(dict)
    share = defaultdict(lambda: defaultdict(float))
    with open(path, errors="replace") as f:
        for line in f:
            part = line.split()
            if len(part) >= 4 and part[0] == "KBANK-PROFILE-ROW":
                cpu[part[2]][part[1]] = float(part[3].split(",")[CPU_NS])
            elif len(part) >= 5 and part[0] == "KBANK-PROFILE-SYM":
                share[(part[2], part[1])][part[4]] += float(part[3])
    per = {}
    for run, rounds in cpu.items():
        per[run] = [{fn: pct / 100 * ns for fn, pct in share[(run, r)].items()}
                    for r, ns in rounds.items()]
    return per, {run: list(r.values()) for run, r in cpu.items()}


def median_ns(rounds):
    fns = set().union(*rounds)
    return {fn: statistics.median(r.get(fn, 0.0) for r in rounds) for fn in fns}


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: deposit_profile.py RESULTS_LOG [MIN_NS]")
    least = float(sys.argv[2]) if len(sys.argv) == 3 else 15
    per, cpu = read(sys.argv[1])
    if "null_ioctl" not in per:
        sys.exit("deposit_profile.py: no null ioctl run in " + sys.argv[1])
    null = median_ns(per["null_ioctl"])
    null_cpu = statistics.median(cpu["null_ioctl"])
    status = 0
    for mode in RUNS[1:]:
        if mode not in per:
            print(f"\n### lock={mode}: not measured (its runs failed)")
            status = 1
            continue
        dep = median_ns(per[mode])
        dep_cpu = statistics.median(cpu[mode])
        print(f"\n### lock={mode}: a deposit {dep_cpu:.0f} ns of CPU, a null "
              f"ioctl {null_cpu:.0f} ns (medians of {len(cpu[mode])} rounds)\n")
        # What the deposit runs and the null ioctl does not, or hardly (the bank's
        # own functions, the lock, the copies) is measured alone; what both
        # run (the system call, the LSM, the file lookup) differs only by
        # the noise between two runs, so it is summed in one row.
        own = {f: d for f, d in dep.items() if null.get(f, 0.0) < d / 10}
        print("| function (run by the deposit only) | ns per deposit |")
        print("|---|---:|")
        small = 0.0
        for fn, d in sorted(own.items(), key=lambda kv: -kv[1]):
            if d < least:
                small += d
                continue
            print(f"| `{fn}` | {d:.0f} |")
        print(f"| the other functions (each under {least:.0f} ns) | {small:.0f} |")
        print(f"| **the deposit's own path** | **{sum(own.values()):.0f}** |")
        shared_d = sum(d for f, d in dep.items() if f not in own)
        print(f"\nThe functions both run: {shared_d:.0f} ns in the deposit's run, "
              f"{sum(null.values()):.0f} in the null ioctl's (separate runs: "
              "their difference is the host's noise, not the path).")
    return status


if __name__ == "__main__":
    sys.exit(main())
