"""The notebook's second cell, ported to kbank.

In the notebook, multiprocessing.Value('i', 200) is the shared balance and
multiprocessing.Lock() guards it. Here the balance lives in the kernel,
behind /dev/bank, and the lock is the module's business: chosen with
`insmod bank.ko lock=...`, taken inside each ioctl. The two processes are
the same, and so is the answer (with a real lock): 200.

Run it in the VM (make vm-shell), from the repository:
    python3 userspace/python/notebook.py [--sleep SECONDS] [--count N]
"""
import argparse
import multiprocessing
import sys
import time

from bank import Bank, hint


def deposit(count, pause):
    with Bank() as balance:
        for i in range(count):
            time.sleep(pause)
            balance.deposit(1)          # was: lock.acquire(); balance.value += 1; lock.release()


def withdraw(count, pause):
    with Bank() as balance:
        for i in range(count):
            time.sleep(pause)
            balance.withdraw(1)         # was: lock.acquire(); balance.value -= 1; lock.release()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--sleep", type=float, default=0.01)
    args = parser.parse_args()

    try:
        bank = Bank()
    except OSError as e:
        print("notebook.py: open %s: %s" % (e.filename, e.strerror), file=sys.stderr)
        if hint(e):
            print("notebook.py: " + hint(e), file=sys.stderr)
        sys.exit(1)
    with bank:
        bank.set_balance(200)           # was: balance = multiprocessing.Value('i', 200)
    p1 = multiprocessing.Process(target=deposit, args=(args.count, args.sleep))
    p2 = multiprocessing.Process(target=withdraw, args=(args.count, args.sleep))

    p1.start()
    p2.start()

    p1.join()
    p2.join()

    with Bank() as bank:
        print(bank.balance())
