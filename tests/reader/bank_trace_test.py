#!/usr/bin/env python3
"""TAP tests of userspace/python/bank_trace.py on the host, against the real
traces in docs/trace/ (make demo recorded them) and doctored copies of them:
the reader must accept the real ones and reject what a lost or wrong event
would look like."""
import os
import re
import subprocess
import sys
import tempfile
import xml.dom.minidom

top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
reader = os.path.join(top, "userspace", "python", "bank_trace.py")
traces = os.path.join(top, "docs", "trace")
n = failed = 0


def run(args, text):
    p = subprocess.run([sys.executable, reader] + args + ["-"], input=text,
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def check(name, ok, out=""):
    global n, failed
    n += 1
    print("%s %d - reader: %s" % ("ok" if ok else "not ok", n, name))
    if not ok:
        failed += 1
        for line in out.splitlines()[-8:]:
            print("#   " + line)


def summary(out):
    m = re.search(r"lock=(\w+) updates=(\d+) lost=(\d+) lost_sum=(-?\d+) "
                  r"expected-balance=(-?\d+) resolved_by_value=\d+ (\w+)", out)
    return m.groups() if m else None


none = open(os.path.join(traces, "trace-none.txt")).read()
lines = none.splitlines(keepends=True)

rc, out = run(["lost", "-n", "0"], none)
s = summary(out)
check("real run in mode none: lost updates found, and they add up to expected - balance",
      rc == 0 and s and s[0] == "none" and int(s[2]) > 0 and s[3] == s[4] and s[5] == "ok", out)

for mode in ("spinlock", "mutex"):
    rc, out = run(["lost"], open(os.path.join(traces, "trace-%s.txt" % mode)).read())
    s = summary(out)
    check("real run in mode %s: no lost update" % mode,
          rc == 0 and s and s[0] == mode and s[2] == "0" and s[5] == "ok", out)

# Doctored: one write event dropped (as a full buffer would).
writes = [i for i, l in enumerate(lines) if "bank_write:" in l]
doctored = "".join(l for i, l in enumerate(lines) if i != writes[len(writes) // 2])
rc, out = run(["lost"], doctored)
check("a dropped bank_write fails the check", rc == 1 and "INCONSISTENT" in out, out)

# Doctored: a write that claims another value (old + amount kept).
i = writes[len(writes) // 3]
bad = re.sub(r"old=(-?\d+) balance=(-?\d+)",
             lambda m: "old=%d balance=%d" % (int(m[1]) + 7, int(m[2]) + 7), lines[i])
rc, out = run(["lost"], "".join(lines[:i] + [bad] + lines[i + 1:]))
check("a write from a value nobody wrote fails the check", rc == 1 and "no write of" in out, out)

# Doctored: a read moved before the write it read from (events out of order).
reads = [j for j, l in enumerate(lines) if "bank_read:" in l]
j = reads[len(reads) // 4]
val = re.search(r"balance=(-?\d+)", lines[j])[1]
src = max(k for k in writes if k < j and re.search(r" balance=%s " % val, lines[k]))
moved = lines[:src] + [lines[j]] + [l for k, l in enumerate(lines[src:], src) if k != j]
rc, out = run(["lost"], "".join(moved))
check("a read stamped before the write it saw is not taken at face value",
      rc == 1 or "resolved_by_value=0" not in out, out)

# Doctored: the kernel's count disagrees (an update the trace never saw).
snap = max(k for k, l in enumerate(lines) if "bank_snapshot:" in l)
bad = re.sub(r"expected=(-?\d+)", lambda m: "expected=%d" % (int(m[1]) + 1), lines[snap])
rc, out = run(["lost"], "".join(lines[:snap] + [bad] + lines[snap + 1:]))
check("expected one more than the writes add up to fails the check",
      rc == 1 and "write events missing" in out, out)

# Mode atomic: a CAS's event can be stamped after the next CAS's, which
# read its value; the reader must still find one chain and nothing lost.
atomic = """\
  x-1 [000] .....  1.000001: bank_reset: balance=100 lock=atomic
  a-2 [000] .....  1.000002: bank_read: balance=100 amount=1 lock=atomic
  b-3 [001] .....  1.000003: bank_read: balance=100 amount=-1 lock=atomic
  b-3 [001] .....  1.000004: bank_cas_retry: expected=100 found=101 try=1
  b-3 [001] .....  1.000005: bank_write: old=101 balance=100 amount=-1 lock=atomic
  a-2 [000] .....  1.000006: bank_write: old=100 balance=101 amount=1 lock=atomic
  a-2 [000] .....  1.000007: bank_read: balance=100 amount=1 lock=atomic
  a-2 [000] .....  1.000008: bank_write: old=100 balance=101 amount=1 lock=atomic
  x-1 [000] .....  1.000009: bank_snapshot: balance=101 expected=101
"""
rc, out = run(["lost"], atomic)
s = summary(out)
check("mode atomic: CAS events stamped out of order still make one chain",
      rc == 0 and s and s[2] == "0" and s[5] == "ok", out)
rc, out = run(["lost"], atomic.replace("old=101 balance=100", "old=102 balance=101"))
check("mode atomic: a CAS from a value nobody wrote fails the check", rc == 1, out)

# The timeline: 80 columns, a caption in words, a well-formed SVG.
with tempfile.TemporaryDirectory() as d:
    for mode, words in (("none", "is lost"), ("spinlock", "spinning"), ("mutex", "asleep")):
        svg = os.path.join(d, mode + ".svg")
        rc, out = run(["timeline", "--svg", svg],
                      open(os.path.join(traces, "trace-%s.txt" % mode)).read())
        ok = rc == 0 and words in out and max(len(l) for l in out.splitlines()) <= 80
        try:
            dom = xml.dom.minidom.parse(svg)
        except Exception as e:  # noqa: BLE001 - any parse error fails
            dom, ok, out = None, False, out + "\nsvg: %s" % e
        check("timeline of mode %s renders in 80 columns and as SVG" % mode, ok, out)
        if dom is None:
            continue
        # Every bar inside the time axis (the black line under the lanes).
        axis = [l for l in dom.getElementsByTagName("line")
                if l.getAttribute("stroke") == "black"][0]
        x0, x1 = float(axis.getAttribute("x1")), float(axis.getAttribute("x2"))
        out = [r.toxml() for r in dom.getElementsByTagName("rect")
               if r.getAttribute("height") == "20"
               and not x0 <= float(r.getAttribute("x")) <= float(r.getAttribute("x"))
               + float(r.getAttribute("width")) <= x1 + 0.5]
        check("timeline of mode %s: every bar inside the time axis" % mode,
              not out, "\n".join(out))

print("1..%d" % n)
sys.exit(1 if failed else 0)
