#!/usr/bin/env python3
"""The docs' VM sessions, typed into `make vm-shell` and compared.

Every fenced block of README.md and of docs/*.md whose first line starts
with the VM's prompt (`/repo # `) is a session: this boots the VM once,
types each command of each block, the README's first and then each page's
in the order of their names, waits for the next prompt, and compares what
came back with what the page shows. Each page's sessions end in the state
they started in (lock=mutex, delay_us=0), so that no page depends on
another. Blocks that start with
`$ ` are run on the host, from the repository, where bank.ko is not loaded
(what a newcomer sees before loading it); skipped where it is. Two things may differ:
a kernel timestamp (`[   15.880457]`), and a number the page writes
with a leading `~` ("about"), which stands for any number (and, written
"~12.5 ms", any time in ns, us, ms or s; written "~0x163", any
hexadecimal number). When a page
shows `^C` right after a command, the command is left running a moment and
then interrupted with Ctrl-C, as a student would.

Prints one TAP line per block, then one for the guest's kernel log; exit
status 1 if any failed.

  readme_session.py [--doc FILE]... [--record]

--doc replays only the pages named (default: README.md and docs/*.md).

--record prints what the VM answered to every session, ready to paste.
"""
import argparse
import difflib
import glob
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMPT = re.compile(r"^/\S* # ")
HOST_PROMPT = re.compile(r"^\$ ")
# At the end of the output: the prompt, waiting for a command.
PROMPT_END = re.compile(r"(?:^|\n)/\S* # $")
STAMP = re.compile(r"^\[ *\d+\.\d+\] ")
ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[A-Za-z]|[()][A-Z0-9]|[=>78])")
# "~12.5", or "~12.5 ms": a time whose unit may change too (perf scales).
# "~0x163": any hexadecimal number (a code offset, which moves with any
# change to the code before it).
ABOUT = re.compile(r"~(?:(?P<hex>0x[0-9a-f]+)|\d+(?:\.\d+)?(?P<unit> (?:ns|us|ms|s)\b)?)")
PROBLEMS = re.compile(r"BUG|WARNING|Oops|INFO:|Call Trace|Kernel panic|"
                      r"circular locking|sleeping function called")

BOOT_TIMEOUT = 900      # a cold build and a boot on a loaded 2-core machine
COMMAND_TIMEOUT = 300   # bank-race and python3 under TCG
CTRL_C_AFTER = 3        # seconds a command runs before its ^C
WIDTH = 79              # busybox's line editing wraps at 80 columns


def sessions(readme, prompt=PROMPT):
    """Yield (line number, [lines]) for every block starting with @prompt."""
    lines = open(readme, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            start = i + 1
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
            block = lines[start:i]
            if block and prompt.match(block[0]):
                yield start + 1, block
        i += 1


def commands(block, prompt=PROMPT):
    """Split a block into [(command, [expected output lines])]."""
    out = []
    for line in block:
        m = prompt.match(line)
        if m:
            out.append((line[m.end():], []))
        else:
            out[-1][1].append(line)
    return out


def clean(text):
    """What a reader sees: no escape sequences, no CR, no trailing blanks."""
    text = ANSI.sub("", text).replace("\r", "")
    return [line.rstrip() for line in text.split("\n")]


def matches(expected, actual):
    """One line: equal but for kernel timestamps and ~numbers."""
    expected, actual = STAMP.sub("[T] ", expected), STAMP.sub("[T] ", actual)
    pattern = ""
    pos = 0
    for m in ABOUT.finditer(expected):
        # In a column, the ~ takes the place of a space: any spaces before.
        if m.group("hex"):
            pattern += re.escape(expected[pos:m.start()]) + r"0x[0-9a-f]+"
            pos = m.end()
            continue
        pattern += re.escape(expected[pos:m.start()].rstrip(" "))
        pattern += r" *-?\d+(?:\.\d+)?"
        if m.group("unit"):
            pattern += r" (?:ns|us|ms|s)"
        pos = m.end()
    pattern += re.escape(expected[pos:])
    return re.fullmatch(pattern, actual) is not None


class Console:
    """make vm-shell on a pseudo-terminal."""

    def __init__(self, log):
        self.log = open(log, "wb")
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp("make", ["make", "-s", "-C", TOP, "vm-shell"])
        self.buf = b""

    def read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 4096)
        except OSError:         # EIO: the VM is gone
            data = b""
        if not data:
            raise EOFError("the VM ended")
        self.log.write(data)
        self.log.flush()
        self.buf += data
        return True

    def until_prompt(self, timeout):
        """Read until the shell waits for a command; return what came."""
        deadline = time.time() + timeout
        while True:
            text = self.buf.decode("utf-8", "replace").replace("\r", "")
            if PROMPT_END.search(ANSI.sub("", text)):
                # A prompt followed by nothing for a moment: the shell waits.
                if not self.read(0.5):
                    out, self.buf = self.buf, b""
                    return out.decode("utf-8", "replace")
                continue
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no prompt after %d s" % timeout)
            self.read(min(left, 1))

    def send(self, data):
        os.write(self.fd, data.encode())

    def close(self, timeout=120):
        """poweroff, and wait for QEMU to end; its exit status."""
        self.send("poweroff\r")
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                self.read(1)
        except EOFError:
            pass
        for _ in range(timeout):
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(1)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        return -1


def split_prompt(text):
    """Lines printed, and the prompt that ends them ("/repo # ")."""
    lines = clean(text)
    return lines[:-1], lines[-1] + " "


def run(console, command, interrupt):
    """Type one command; return the lines it printed (its echo first) and
    the next prompt."""
    console.send(command)
    if interrupt:
        console.send("\r")
        # Let it start and block, then Ctrl-C, as a student would.
        deadline = time.time() + CTRL_C_AFTER
        while time.time() < deadline:
            console.read(deadline - time.time())
        console.send("\x03")
    else:
        console.send("\r")
    return split_prompt(console.until_prompt(COMMAND_TIMEOUT))


def report(doc, kind, n, block, got, count, record=False):
    """One TAP line: @got against @doc's @block, @count commands.
    Return 1 if they differ."""
    if record:
        print("\n".join(got) + "\n")
        return 0
    if len(got) == len(block) and all(map(matches, block, got)):
        print("ok - %s %s at line %d: %d commands, output as shown"
              % (doc, kind, n, count))
        return 0
    print("not ok - %s %s at line %d: output differs" % (doc, kind, n))
    # Lines that match as they should are shown as the page has them.
    got = [block[i] if i < len(block) and matches(block[i], line) else line
           for i, line in enumerate(got)]
    for d in difflib.unified_diff(block, got, doc, "ran", lineterm="", n=2):
        print("#   " + d)
    return 1


def name(doc):
    return os.path.relpath(doc, TOP)


def host_sessions(docs, record):
    """The `$ ` blocks, run on the host; the number that failed."""
    blocks = [(doc, n, b) for doc in docs
              for n, b in sessions(doc, HOST_PROMPT)]
    if os.path.exists("/sys/module/bank"):
        for doc, n, _ in blocks:
            print("ok - %s host session at line %d # SKIP bank.ko is "
                  "loaded on this machine" % (name(doc), n))
        return 0
    if blocks and subprocess.run(["make", "-s", "-C", TOP, "progs"]).returncode:
        print("not ok - host sessions: make progs failed")
        return 1
    failed = 0
    for doc, n, block in blocks:
        got = []
        for command, _ in commands(block, HOST_PROMPT):
            run = subprocess.run(command, shell=True, cwd=TOP, timeout=120,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            got.append("$ " + command)
            if run.stdout:
                got += clean(run.stdout.rstrip("\n"))
        failed += report(name(doc), "host session", n, block, got,
                         len(commands(block, HOST_PROMPT)), record)
    return failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--doc", action="append",
                    help="a page to replay (default: README.md, docs/*.md)")
    ap.add_argument("--record", action="store_true",
                    help="print what the VM answered, compare nothing")
    args = ap.parse_args()

    docs = args.doc or [os.path.join(TOP, "README.md")] + sorted(
        glob.glob(os.path.join(TOP, "docs", "*.md")))
    blocks = [(doc, n, b) for doc in docs for n, b in sessions(doc)]
    if not blocks:
        print("not ok - docs: no VM session block (a first line starting with '/repo # ')")
        return 1
    too_long = [(doc, n, c) for doc, n, b in blocks for c, _ in commands(b)
                if len(PROMPT.match("/repo # ").group()) + len(c) > WIDTH]
    for doc, n, c in too_long:
        print("not ok - %s line %d: command longer than %d columns "
              "(the VM's line editing would wrap it): %s"
              % (name(doc), n, WIDTH, c))
    if too_long:
        return 1

    failed = host_sessions(docs, args.record)
    os.makedirs(os.path.join(TOP, "build"), exist_ok=True)
    log = os.path.join(TOP, "build", "readme-session.log")
    console = Console(log)
    try:
        _, prompt = split_prompt(console.until_prompt(BOOT_TIMEOUT))
        for doc, n, block in blocks:
            got = []
            for command, expected in commands(block):
                interrupt = bool(expected) and expected[0] == "^C"
                out, next_prompt = run(console, command, interrupt)
                # The shell echoes the command after its prompt.
                if out:
                    out[0] = prompt + out[0]
                got += out
                prompt = next_prompt
            failed += report(name(doc), "session", n, block, got,
                             len(commands(block)), args.record)
    except (TimeoutError, EOFError) as e:
        failed += 1
        print("not ok - docs sessions: %s (console: %s)" % (e, log))
        print("\n".join("#   " + line for line in clean(console.buf.decode("utf-8", "replace"))[-30:]))
    status = console.close()
    text = open(log, "rb").read().decode("utf-8", "replace")
    problems = [line for line in clean(text) if PROBLEMS.search(line)]
    if args.record:
        return 0
    if problems or status != 0:
        failed += 1
        print("not ok - docs sessions: VM powered off, kernel log clean")
        for line in problems:
            print("#   " + line)
        if status != 0:
            print("#   make vm-shell exit status %d" % status)
    else:
        print("ok - docs sessions: VM powered off, kernel log clean")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
