"""The notebook's own design, timed: a multiprocessing.Value and its Lock.

N processes alternate `with v.get_lock(): v.value += 1` and `-= 1`, as the
notebook's deposit() and withdraw() do without their sleeps, for a few timed
samples after a warm-up. Prints one CSV row in bank-bench's columns, so that
make bench sets the kernel's numbers beside the notebook's.

    python3 bench_value.py WORKERS [SAMPLES] [SAMPLE_SECONDS]
"""
import multiprocessing
import os
import resource
import statistics
import sys
import time


def worker(value, counter, start, stop):
    start.wait()
    n = 0
    while not stop.value:
        with value.get_lock():
            value.value += 1 if n % 2 == 0 else -1
        n += 1
        counter.value = n       # its own Value: no lock needed for one writer
    os._exit(0)


def main():
    workers = int(sys.argv[1])
    samples = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    length = float(sys.argv[3]) if len(sys.argv) > 3 else 0.3

    value = multiprocessing.Value('i', 200)
    stop = multiprocessing.Value('b', 0, lock=False)
    counters = [multiprocessing.Value('Q', 0, lock=False) for _ in range(workers)]
    start = multiprocessing.Barrier(workers + 1)
    procs = [multiprocessing.Process(target=worker,
                                     args=(value, counters[i], start, stop))
             for i in range(workers)]
    for p in procs:
        p.start()
    start.wait()
    started = time.monotonic()
    time.sleep(0.2)                                     # warm-up, discarded
    rates, fairness = [], []
    for _ in range(samples):
        before = [c.value for c in counters]
        t0 = time.monotonic()
        time.sleep(length)
        t1 = time.monotonic()
        deltas = [c.value - b for c, b in zip(counters, before)]
        rates.append(sum(deltas) / (t1 - t0))
        fairness.append(min(deltas) / max(deltas) if max(deltas) else 0)
    stop.value = 1
    elapsed = time.monotonic() - started
    for p in procs:
        p.join()
    total = sum(c.value for c in counters)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_ns = (ru.ru_utime + ru.ru_stime) * 1e9
    rate = statistics.median(rates)
    print("python_value,-,%d,0,1,%.0f,%.0f,%.0f,%.1f,%.1f,%.3f,0.0000,0.000000,%d,%.2f" % (
        workers, rate, min(rates), max(rates), workers * 1e9 / rate if rate else 0,
        cpu_ns / total if total else 0, statistics.median(fairness), total,
        cpu_ns / 1e9 / elapsed))


if __name__ == "__main__":
    main()
