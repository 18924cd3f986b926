"""/dev/bank from Python: the ABI of include/uapi/linux/bank.h, by hand.

The ioctl numbers are built the way <asm-generic/ioctl.h> builds them, and
the structs are packed as the C compiler lays them out. tests/abi/abi_check.sh
compares both with the C header, so they cannot drift apart unnoticed:
`python3 bank.py --dump` prints what tests/abi/abi_dump prints.
"""
import errno
import fcntl
import os
import struct
import sys

# <asm-generic/ioctl.h>: nr 8 bits, type 8, size 14, dir 2.
_IOC_WRITE = 1
_IOC_READ = 2


def _ioc(direction, typ, nr, size):
    return (direction << 30) | (size << 16) | (typ << 8) | nr


def _ior(typ, nr, size):
    return _ioc(_IOC_READ, typ, nr, size)


def _iow(typ, nr, size):
    return _ioc(_IOC_WRITE, typ, nr, size)


def _iowr(typ, nr, size):
    return _ioc(_IOC_READ | _IOC_WRITE, typ, nr, size)


# Native byte order, no padding: the C structs have none.
BANK_OP = struct.Struct("=qq")            # amount, balance
BANK_STATS = struct.Struct("=qqQQQQII")   # balance, expected, deposits,
                                          # withdrawals, contended, waits,
                                          # lock, delay_us
BANK_BATCH = struct.Struct("=QIIq")       # amounts, count, flags, balance
BANK_ACCOUNTS_MAX = 64
BANK_TRANSFER = struct.Struct("=IIqqq")   # from, to, amount, from_balance,
                                          # to_balance
BANK_ACCOUNT = struct.Struct("=IIq")      # id, flags, balance
BANK_ACCOUNTS = struct.Struct("=IIQQ%dq" % BANK_ACCOUNTS_MAX)
                                          # count, flags, deposits,
                                          # withdrawals, balances[64]
BANK_READERS = struct.Struct("=QQQQQQII")  # statements, torn, retries,
                                           # fallbacks, copies, copy_waits,
                                           # statement, flags
S64 = struct.Struct("=q")

STATS_FIELDS = ("balance", "expected", "deposits", "withdrawals",
                "contended", "waits", "lock", "delay_us")

BANK_LOCK_NONE, BANK_LOCK_SPINLOCK, BANK_LOCK_MUTEX, BANK_LOCK_ATOMIC = range(4)
LOCK_NAMES = ("none", "spinlock", "mutex", "atomic")
BANK_BATCH_MAX = 4096
(BANK_STATEMENT_LOCKS, BANK_STATEMENT_NONE, BANK_STATEMENT_RWLOCK,
 BANK_STATEMENT_RWSEM, BANK_STATEMENT_SEQLOCK, BANK_STATEMENT_RCU) = range(6)
STATEMENT_NAMES = ("locks", "none", "rwlock", "rwsem", "seqlock", "rcu")
READERS_FIELDS = ("statements", "torn", "retries", "fallbacks", "copies",
                  "copy_waits", "statement", "flags")

BANK_IOC_MAGIC = 0xB8
BANK_IOC_DEPOSIT = _iowr(BANK_IOC_MAGIC, 0x00, BANK_OP.size)
BANK_IOC_WITHDRAW = _iowr(BANK_IOC_MAGIC, 0x01, BANK_OP.size)
BANK_IOC_GET_BALANCE = _ior(BANK_IOC_MAGIC, 0x02, S64.size)
BANK_IOC_SET_BALANCE = _iow(BANK_IOC_MAGIC, 0x03, S64.size)
BANK_IOC_GET_STATS = _ior(BANK_IOC_MAGIC, 0x04, BANK_STATS.size)
BANK_IOC_BATCH = _iowr(BANK_IOC_MAGIC, 0x05, BANK_BATCH.size)
BANK_IOC_TRANSFER = _iowr(BANK_IOC_MAGIC, 0x06, BANK_TRANSFER.size)
BANK_IOC_GET_ACCOUNT = _iowr(BANK_IOC_MAGIC, 0x07, BANK_ACCOUNT.size)
BANK_IOC_GET_ACCOUNTS = _iowr(BANK_IOC_MAGIC, 0x08, BANK_ACCOUNTS.size)
BANK_IOC_GET_READERS = _ior(BANK_IOC_MAGIC, 0x0C, BANK_READERS.size)


def hint(err):
    """For an OSError on the device: a hint at the likely cause, or ""."""
    if err.errno == errno.ENOENT and not os.path.exists("/sys/module/bank"):
        return ("bank.ko is not loaded: load it with 'insmod module/bank.ko' "
                "(as root), or try kbank in its VM: make vm-shell")
    if err.errno == errno.EACCES:
        return "only root may open it, unless udev/99-bank.rules is installed"
    return ""


class Bank:
    """An open /dev/bank. Errors come as OSError, with the kernel's errno."""

    def __init__(self, path="/dev/bank", nonblock=False):
        flags = os.O_RDWR | (os.O_NONBLOCK if nonblock else 0)
        self.fd = os.open(path, flags)

    def close(self):
        os.close(self.fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _op(self, cmd, amount):
        buf = bytearray(BANK_OP.pack(amount, 0))
        fcntl.ioctl(self.fd, cmd, buf)
        return BANK_OP.unpack(buf)[1]

    def deposit(self, amount):
        """Deposit amount > 0; return the balance right after."""
        return self._op(BANK_IOC_DEPOSIT, amount)

    def withdraw(self, amount):
        """Withdraw amount > 0, waiting for funds; return the balance after."""
        return self._op(BANK_IOC_WITHDRAW, amount)

    def balance(self):
        buf = bytearray(S64.size)
        fcntl.ioctl(self.fd, BANK_IOC_GET_BALANCE, buf)
        return S64.unpack(buf)[0]

    def set_balance(self, value):
        """Set the balance (>= 0) and reset the kernel's counters."""
        fcntl.ioctl(self.fd, BANK_IOC_SET_BALANCE, S64.pack(value))

    def stats(self):
        buf = bytearray(BANK_STATS.size)
        fcntl.ioctl(self.fd, BANK_IOC_GET_STATS, buf)
        return dict(zip(STATS_FIELDS, BANK_STATS.unpack(buf)))

    def transfer(self, src, dst, amount):
        """Move amount > 0 from account src to dst; return both balances."""
        buf = bytearray(BANK_TRANSFER.pack(src, dst, amount, 0, 0))
        fcntl.ioctl(self.fd, BANK_IOC_TRANSFER, buf)
        return BANK_TRANSFER.unpack(buf)[3:]

    def accounts(self):
        """Every account's balance (one instant, with a real lock)."""
        buf = bytearray(BANK_ACCOUNTS.size)
        fcntl.ioctl(self.fd, BANK_IOC_GET_ACCOUNTS, buf)
        fields = BANK_ACCOUNTS.unpack(buf)
        return list(fields[4:4 + fields[0]])

    def readers(self):
        """What the statements met since "statement" was set, as a dict."""
        buf = bytearray(BANK_READERS.size)
        fcntl.ioctl(self.fd, BANK_IOC_GET_READERS, buf)
        return dict(zip(READERS_FIELDS, BANK_READERS.unpack(buf)))


def dump():
    """Print the ABI as tests/abi/abi_dump does: one "name value" a line."""
    for name in ("BANK_IOC_DEPOSIT", "BANK_IOC_WITHDRAW",
                 "BANK_IOC_GET_BALANCE", "BANK_IOC_SET_BALANCE",
                 "BANK_IOC_GET_STATS", "BANK_IOC_BATCH",
                 "BANK_IOC_TRANSFER", "BANK_IOC_GET_ACCOUNT",
                 "BANK_IOC_GET_ACCOUNTS", "BANK_IOC_GET_READERS"):
        print(name, hex(globals()[name]))
    for name in ("BANK_LOCK_NONE", "BANK_LOCK_SPINLOCK", "BANK_LOCK_MUTEX",
                 "BANK_LOCK_ATOMIC", "BANK_BATCH_MAX", "BANK_ACCOUNTS_MAX",
                 "BANK_STATEMENT_LOCKS", "BANK_STATEMENT_NONE",
                 "BANK_STATEMENT_RWLOCK", "BANK_STATEMENT_RWSEM",
                 "BANK_STATEMENT_SEQLOCK", "BANK_STATEMENT_RCU"):
        print(name, globals()[name])
    for name, st in (("bank_op", BANK_OP), ("bank_stats", BANK_STATS),
                     ("bank_batch", BANK_BATCH),
                     ("bank_transfer", BANK_TRANSFER),
                     ("bank_account", BANK_ACCOUNT),
                     ("bank_accounts", BANK_ACCOUNTS),
                     ("bank_readers", BANK_READERS)):
        print("sizeof(struct %s)" % name, st.size)


if __name__ == "__main__":
    if sys.argv[1:] == ["--dump"]:
        dump()
    else:
        print("usage: bank.py --dump", file=sys.stderr)
        sys.exit(2)
