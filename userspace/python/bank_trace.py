#!/usr/bin/env python3
"""bank_trace: rebuild every update of /dev/bank from bank.ko's trace events.

    bank_trace.py lost [-n N] [TRACE]       lost updates, and the invariant
    bank_trace.py timeline [--svg F] [TRACE]  one lost update or one wait

TRACE is the text of /sys/kernel/tracing/trace or of `trace-cmd report`
(default: standard input), recorded with at least the bank events, and for
the timeline of a lock also sched:sched_switch. Python 3, standard library
only: it parses text, runs on the host and in the guest (chroot /host
python3), and draws the SVG itself, so it needs nothing that C would not
make longer to write.

The clock: record with trace_clock "mono" (trace-cmd record -C mono). Every
CPU writes its own buffer and stamps its events; the default clock "local"
is each CPU's own sched_clock, which may be off from the other CPU's by
more than the race window. "mono" is the system's one monotonic clock, the
same on every CPU (and CLOCK_MONOTONIC for programs), so the merged output
is in the order things happened, to within the time an event takes.

What the reader assumes, and why it holds:
  1. Each task runs one update at a time (an ioctl does not return before
     its update ends), so a task's bank_write belongs to its last bank_read.
  2. bank_write carries "old", the value its result came from, and
     "balance" = old + amount: the write of an update U "comes from" the
     write S that produced the value U read (its source, S.balance == U.old).
  3. In the locked modes U's source is the write just before U's in the
     trace: the lock (or the compare-and-swap, which reads and writes in one
     instruction) keeps every other write out between U's read and write.
     In mode none, bank_write is stamped before its store and bank_read
     after its load, so the write U read from is stamped before U's read,
     however long a CPU stalls in between (the host can stop a vCPU for
     milliseconds). It is the latest such write, unless a write stamped
     before U's read stored after it: then the reader takes the latest
     earlier write with the value U read ("resolved by value" counts them).
  4. The balance at the end is the last write whose value is the snapshot's
     balance. Following the sources back from it to the reset gives the
     chain of updates that survived; every other write was erased: lost.
Checks: every write has a source; the writes add up to the snapshot's
"expected" (no write event missing or duplicated); and then the lost
amounts add up to expected - balance. Exit status 1 if one fails.
"""
import argparse
import re
import sys

LINE = re.compile(r"^\s*(?P<comm>.*?)-(?P<pid>\d+)\s+(?:\(\s*[-\d]+\)\s+)?"
                  r"\[(?P<cpu>\d+)\]\s+(?:\S+\s+)?(?P<ts>\d+\.\d+):\s+"
                  r"(?P<event>\w+):\s*(?P<rest>.*)$")
FIELD = re.compile(r"(\w+)=(\S+)")


class Ev:
    __slots__ = ("pos", "comm", "pid", "cpu", "ts", "name", "f")

    def __init__(self, pos, m):
        self.pos = pos
        self.comm = m["comm"].strip()
        self.pid = int(m["pid"])
        self.cpu = int(m["cpu"])
        self.ts = float(m["ts"]) * 1e6  # microseconds
        self.name = m["event"]
        self.f = {}
        for k, v in FIELD.findall(m["rest"]):
            try:
                self.f[k] = int(v)
            except ValueError:
                self.f[k] = v


def parse(lines):
    """The events, in the order of the trace (the merged, time order)."""
    evs = []
    for line in lines:
        m = LINE.match(line)
        if m:
            evs.append(Ev(len(evs), m))
    return evs


class Write:
    """One update that wrote the balance back (or the reset: pid None)."""

    def __init__(self, ev, read_ev):
        self.ev, self.read = ev, read_ev
        self.pid = ev.pid if read_ev else None
        self.old = ev.f.get("old", ev.f["balance"])
        self.new = ev.f["balance"]
        self.amount = ev.f.get("amount", 0)
        self.mode = ev.f.get("lock", "none")
        self.source = None
        self.by_value = False


class Segment:
    """From one bank_reset to the next: one run in one lock mode."""

    def __init__(self, reset):
        self.reset = Write(reset, None)
        self.mode = reset.f.get("lock", "?")
        self.writes = [self.reset]
        self.snapshot = None
        self.errors = []
        self.lost = []
        self.by_value = 0
        self.events = []

    def rebuild(self):
        last_read = {}
        for ev in self.events:
            if ev.name in ("bank_read", "bank_cas_retry"):
                last_read[ev.pid] = ev
            elif ev.name == "bank_write":
                self.writes.append(Write(ev, last_read.get(ev.pid, ev)))
            elif ev.name == "bank_snapshot" and len(self.writes) > 1:
                self.snapshot = ev
        if self.snapshot is None or self.snapshot.pos < self.writes[-1].ev.pos:
            if len(self.writes) > 1:
                self.errors.append("no bank_snapshot after the last write")
            return
        if self.mode == "atomic":
            self.order_cas()
        index = {id(w): i for i, w in enumerate(self.writes)}
        for i, w in enumerate(self.writes[1:], 1):
            w.source = self.find_source(i, w)
            if w.source is None:
                self.errors.append(
                    "pid %d wrote %d from %d at %.1f us: no write of %d to read"
                    % (w.pid, w.new, w.old, w.ev.ts, w.old))
        # The chain of survivors, back from the last write of the balance.
        final = None
        for w in reversed(self.writes):
            if w.new == self.snapshot.f["balance"]:
                final = w
                break
        if final is None:
            self.errors.append("no write of the final balance %d"
                               % self.snapshot.f["balance"])
            return
        alive = set()
        w = final
        while w is not None:
            alive.add(id(w))
            w = w.source
        if id(self.reset) not in alive:
            self.errors.append("the chain from the final balance does not reach the reset")
        self.lost = [w for w in self.writes[1:] if id(w) not in alive]
        self.index = index

    def order_cas(self, limit=200000):
        """Mode atomic: put the writes in the order their CASes happened.

        bank_write follows a successful compare-and-swap, so another CPU's
        next CAS, which read this one's value, can be stamped first. But
        the CASes form one chain (each found the value the previous one
        wrote), and each task's own writes are in its program order. So
        merge the tasks' sequences: at each step take, of the tasks' next
        writes, one whose old value is the balance now (the earliest in the
        trace first), and back up when that leads nowhere.
        """
        queues = {}
        for w in self.writes[1:]:
            queues.setdefault(w.pid, []).append(w)
        heads = dict.fromkeys(queues, 0)
        total = len(self.writes) - 1

        def candidates(cur):
            c = [p for p, q in queues.items()
                 if heads[p] < len(q) and q[heads[p]].old == cur.new]
            return sorted(c, key=lambda p: queues[p][heads[p]].ev.pos)

        seq, stack, steps = [self.reset], [candidates(self.reset)], 0
        while len(seq) - 1 < total and steps < limit:
            steps += 1
            if not stack[-1]:
                stack.pop()
                if not stack:
                    return  # no chain: find_source reports the errors
                heads[seq.pop().pid] -= 1
                continue
            p = stack[-1].pop(0)
            w = queues[p][heads[p]]
            heads[p] += 1
            seq.append(w)
            stack.append(candidates(w))
        if len(seq) - 1 == total:
            self.writes = seq

    def find_source(self, i, w):
        """The write whose value w's update read (assumption 3)."""
        ws = self.writes
        if w.mode != "none" or w.read is w.ev or self.mode == "atomic":
            prev = ws[i - 1]
            return prev if prev.new == w.old else None
        before = [s for s in ws[:i] if s.ev.pos < w.read.pos]
        for n, s in enumerate(reversed(before)):
            if s.new == w.old:
                if n:
                    w.by_value = True
                    self.by_value += 1
                return s
        return None

    def eraser(self, u):
        """The first write after u's that does not descend from it."""
        for v in self.writes[self.index[id(u)] + 1:]:
            a = v
            while a is not None and a.ev.pos > u.ev.pos:
                a = a.source
            if a is not u:
                return v
        return None

    def summary(self):
        total = sum(w.amount for w in self.writes[1:])
        lost_sum = sum(w.amount for w in self.lost)
        snap = self.snapshot
        exp = snap.f["expected"] if snap else None
        bal = snap.f["balance"] if snap else None
        if snap and self.reset.new + total != exp:
            self.errors.append(
                "the writes add up to %d + %d = %d, the kernel counted expected = %d:"
                " write events missing or extra" % (self.reset.new, total,
                                                    self.reset.new + total, exp))
        if snap and lost_sum != exp - bal:
            self.errors.append("lost amounts add up to %d, expected - balance = %d"
                               % (lost_sum, exp - bal))
        return total, lost_sum, exp, bal


def segments(evs):
    segs = []
    for ev in evs:
        if ev.name == "bank_reset":
            segs.append(Segment(ev))
        elif segs:
            segs[-1].events.append(ev)
    for s in segs:
        s.rebuild()
    return [s for s in segs if len(s.writes) > 1]


def kind(amount):
    return "deposit" if amount > 0 else "withdrawal"


def story(seg, u):
    """The four events of a lost update, in words, in time order."""
    v = seg.eraser(u)
    steps = [(u.read.ts, "pid %d read %d" % (u.pid, u.old)),
             (u.ev.ts, "pid %d wrote %d" % (u.pid, u.new))]
    if v is not None:
        steps += [(v.read.ts, "pid %d read %d" % (v.pid, v.old)),
                  (v.ev.ts, "pid %d wrote %d" % (v.pid, v.new))]
    steps.sort()
    return "%s: pid %d's %s of %d is lost" % (
        ", ".join(s for _, s in steps), u.pid, kind(u.amount), abs(u.amount)), v


def cmd_lost(evs, args):
    segs = segments(evs)
    if not segs:
        print("bank_trace: no update between a bank_reset and a bank_snapshot", file=sys.stderr)
        return 1
    bad = 0
    for n, s in enumerate(segs, 1):
        total, lost_sum, exp, bal = s.summary()
        for u in s.lost[:args.n]:
            line, v = story(s, u)
            print("  %.6f s: %s%s" % (u.ev.ts / 1e6, line,
                  " (erased by pid %d's write of %d)" % (v.pid, v.new) if v else ""))
        if len(s.lost) > args.n:
            print("  ... %d more" % (len(s.lost) - args.n))
        verdict = "ok" if not s.errors else "INCONSISTENT"
        print("run %d lock=%s updates=%d lost=%d lost_sum=%d expected-balance=%s"
              " resolved_by_value=%d %s" % (n, s.mode, len(s.writes) - 1, len(s.lost),
                                            lost_sum, exp - bal if exp is not None else "?",
                                            s.by_value, verdict))
        for e in s.errors:
            print("  error: " + e)
        bad += bool(s.errors)
    return 1 if bad else 0


# ---- the timeline --------------------------------------------------------

def lanes_none(seg, u):
    """Intervals (pid, start, end, kind, label) around lost update u."""
    line, v = story(seg, u)
    t0 = min(u.read.ts, v.read.ts if v else u.read.ts)
    t1 = max(u.ev.ts, v.ev.ts if v else u.ev.ts)
    pad = (t1 - t0) * 0.15 + 1
    lo, hi = t0 - pad, t1 + pad
    items = []
    for w in seg.writes[1:]:
        if w.ev.ts >= lo and w.read.ts <= hi:
            lost = w is u
            items.append((w.pid, w.read.ts, w.ev.ts, "lost" if lost else "update",
                          "read %d" % w.old, "wrote %d" % w.new))
    title = "lock=none: a lost update, from a real run"
    return items, lo, hi, title, line, {}


def offcpu(evs):
    """pid -> [(off, on)] from sched_switch."""
    off, res = {}, {}
    for ev in evs:
        if ev.name != "sched_switch":
            continue
        p, n = ev.f.get("prev_pid"), ev.f.get("next_pid")
        if p:
            off[p] = ev.ts
        if n in off:
            res.setdefault(n, []).append((off.pop(n), ev.ts))
    for p, t in off.items():
        res.setdefault(p, []).append((t, float("inf")))
    return res


def lanes_lock(seg, evs, min_wait):
    """Intervals around the first wait for the lock of at least min_wait us."""
    sw = offcpu(evs)
    waits, holds, begin = [], [], {}
    for ev in seg.events:
        if ev.name == "bank_lock_wait":
            begin[ev.pid] = ev.ts
        elif ev.name == "bank_lock_acquired" and ev.pid in begin:
            waits.append((ev.pid, begin.pop(ev.pid), ev.ts))
        elif ev.name == "bank_read":
            begin.setdefault(("r", ev.pid), ev.ts)
        elif ev.name in ("bank_write", "bank_update_end") and ("r", ev.pid) in begin:
            holds.append((ev.pid, begin.pop(("r", ev.pid)), ev.ts))
    if not waits:
        return None

    def split(p, a, b):
        """[(start, end, "spin" or "sleep")] of p's wait from a to b."""
        cuts = sorted((max(x, a), min(y, b)) for x, y in sw.get(p, []) if y > a and x < b)
        parts, t = [], a
        for x, y in cuts:
            if x > t:
                parts.append((t, x, "spin"))
            parts.append((x, y, "sleep"))
            t = y
        if b > t:
            parts.append((t, b, "spin"))
        return parts

    def asleep(w):
        return sum(y - x for x, y, k in split(*w) if k == "sleep")

    tot = sum(w[2] - w[1] for w in waits)
    tot_sleep = sum(asleep(w) for w in waits)
    # The picture: a typical wait of the mode, at least min_wait long.
    long_enough = [w for w in waits if w[2] - w[1] >= min_wait] or waits
    if seg.mode == "mutex":
        pick = max(long_enough, key=lambda w: (asleep(w) / (w[2] - w[1] or 1), -(w[2] - w[1])))
    else:
        pick = min(long_enough, key=lambda w: w[2] - w[1])
    pid, ws, we = pick
    pad = (we - ws) * 0.3 + 1
    lo, hi = ws - pad, we + pad
    items = []
    for p, a, b in holds:
        if b >= lo and a <= hi:
            items.append((p, a, b, "hold", "", ""))
    spun = slept = 0.0
    for w in waits:
        if w[2] < lo or w[1] > hi:
            continue
        for x, y, k in split(*w):
            items.append((w[0], x, y, k, "", ""))
            if w is pick:
                spun += (y - x) if k == "spin" else 0
                slept += (y - x) if k == "sleep" else 0
    holder = next((p for p, a, b in holds if p != pid and a <= ws <= b), None)
    mode = seg.mode
    cap = ("pid %d found the %s taken%s and waited %.0f us: %.0f us spinning on its CPU,"
           " %.0f us asleep off it (sched_switch)"
           % (pid, mode, " by pid %d" % holder if holder else "", we - ws, spun, slept))
    cap += ("; all %d waits of the run: %.0f%% of the waiting on CPU"
            % (len(waits), 100.0 * (tot - tot_sleep) / (tot or 1)))
    title = "lock=%s, delay_us set: a waiter %s" % (
        mode, "spins on its CPU" if spun >= slept else "sleeps off its CPU")
    return items, lo, hi, title, cap, {}


CHARS = {"update": "=", "lost": "x", "hold": "#", "spin": "~", "sleep": "."}
LEGEND = {"update": "= read .. write back", "lost": "x the lost update",
          "hold": "# holds the lock", "spin": "~ waits, on its CPU (spins)",
          "sleep": ". waits, off its CPU (asleep)"}


def text(items, lo, hi, title, caption, width=80):
    pids = sorted({i[0] for i in items})
    label = 10
    cols = width - label - 1
    scale = (hi - lo) / cols
    out = [title[:width]]
    for p in pids:
        row = [" "] * cols
        for q, a, b, k, _, _ in sorted(items, key=lambda i: i[3] == "lost"):
            if q != p or b < lo or a > hi:
                continue        # wholly outside the time axis
            c0 = max(0, int((a - lo) / scale))
            c1 = min(cols - 1, int((b - lo) / scale))
            for c in range(c0, c1 + 1):
                if row[c] == " " or k in ("lost", "spin", "sleep"):
                    row[c] = CHARS[k]
            if k in ("update", "lost"):
                row[c0], row[c1] = "R", "W"
        out.append(("pid %d" % p).ljust(label) + "|" + "".join(row))
    axis = "%.0f us" % (hi - lo)
    out.append(" " * label + "0" + axis.rjust(cols - 1))
    kinds = sorted({i[3] for i in items}, key=list(CHARS).index)
    out.append("  ".join(LEGEND[k] for k in kinds)[:width])
    words, line = caption.split(), ""
    for w in words:
        if len(line) + len(w) + 1 > width:
            out.append(line)
            line = ""
        line = (line + " " + w).strip()
    out.append(line)
    return "\n".join(out)


COLORS = {"update": "#4a90d9", "lost": "#d0021b", "hold": "#4a90d9",
          "spin": "#f5a623", "sleep": "#d8d8d8"}


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def svg(items, lo, hi, title, caption):
    pids = sorted({i[0] for i in items})
    W, left, lane, top = 900, 90, 46, 50
    plot = W - left - 30
    H = top + lane * len(pids) + 110
    x = lambda t: left + (t - lo) / (hi - lo) * plot
    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
         'font-family="sans-serif" font-size="13">' % (W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>' % (left, esc(title))]
    for n, p in enumerate(pids):
        y = top + n * lane
        o.append('<text x="10" y="%d">pid %d</text>' % (y + 22, p))
        o.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#bbb"/>'
                 % (left, left + plot, y + 17, y + 17))
        for q, a, b, k, la, lb in items:
            if q != p:
                continue
            a, b = max(a, lo), min(b, hi)
            if b < a:
                continue        # wholly outside the time axis
            o.append('<rect x="%.1f" y="%d" width="%.1f" height="20" fill="%s"/>'
                     % (x(a), y + 7, max(x(b) - x(a), 1.5), COLORS[k]))
            if la:
                o.append('<text x="%.1f" y="%d" font-size="11">%s</text>' % (x(a), y + 4, esc(la)))
            if lb:
                o.append('<text x="%.1f" y="%d" font-size="11" text-anchor="end">%s</text>'
                         % (x(b), y + 40, esc(lb)))
    y = top + lane * len(pids) + 5
    o.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="black"/>' % (left, left + plot, y, y))
    for i in range(6):
        t = lo + (hi - lo) * i / 5
        o.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="11">%.0f us</text>'
                 % (x(t), y + 15, t - lo))
    lx = left
    for k in sorted({i[3] for i in items}, key=list(CHARS).index):
        o.append('<rect x="%d" y="%d" width="14" height="12" fill="%s"/>' % (lx, y + 28, COLORS[k]))
        o.append('<text x="%d" y="%d" font-size="12">%s</text>' % (lx + 18, y + 39, esc(LEGEND[k][2:])))
        lx += 210
    words, line, yy = caption.split(), "", y + 66
    for w in words:
        if len(line) + len(w) + 1 > 110:
            o.append('<text x="%d" y="%d">%s</text>' % (left, yy, esc(line)))
            line, yy = "", yy + 17
        line = (line + " " + w).strip()
    o.append('<text x="%d" y="%d">%s</text>' % (left, yy, esc(line)))
    o.append("</svg>")
    return "\n".join(o) + "\n"


def cmd_timeline(evs, args):
    segs = segments(evs)
    pic = None
    for s in segs:
        if s.mode == "none" and s.lost:
            # The textbook case: the eraser read the same value as the lost
            # update; of those, the one that fits in the shortest window.
            def span(w):
                v = s.eraser(w)
                if v is None or v.source is not w.source:
                    return float("inf")
                return max(w.ev.ts, v.ev.ts) - min(w.read.ts, v.read.ts)
            u = min(s.lost, key=span)
            pic = lanes_none(s, u)
            break
        if s.mode in ("spinlock", "mutex"):
            pic = lanes_lock(s, evs, args.min_wait)
            if pic:
                break
    if pic is None:
        print("bank_trace: nothing to draw (no lost update, no wait for a lock)", file=sys.stderr)
        return 1
    items, lo, hi, title, caption, _ = pic
    print(text(items, lo, hi, title, caption, args.width))
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg(items, lo, hi, title, caption))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    lo = sub.add_parser("lost", help="list lost updates, check the invariant")
    lo.add_argument("-n", type=int, default=3, help="lost updates listed per run (default 3)")
    tl = sub.add_parser("timeline", help="draw one lost update or one wait")
    tl.add_argument("--svg", help="also write the picture to this SVG file")
    tl.add_argument("--width", type=int, default=80)
    tl.add_argument("--min-wait", type=float, default=300.0,
                    help="the first wait for a lock at least this long, in us")
    for p in (lo, tl):
        p.add_argument("trace", nargs="?", default="-")
    args = ap.parse_args()
    f = sys.stdin if args.trace == "-" else open(args.trace)
    evs = parse(f)
    return cmd_lost(evs, args) if args.cmd == "lost" else cmd_timeline(evs, args)


if __name__ == "__main__":
    sys.exit(main())
