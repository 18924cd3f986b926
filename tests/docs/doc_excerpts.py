#!/usr/bin/env python3
"""The docs' code excerpts, checked against the source they quote.

Every ```c block in README.md and docs/**/*.md is an excerpt of one source
file (module/, include/uapi/, userspace/, tests/): its lines, in order, with
lines of the file left out where the excerpt skips them. A line matches
when it is equal once whitespace is squeezed and a trailing /* comment */ that
the excerpt added (to say where it comes from) is dropped. A line "..."
stands for lines left out. An excerpt that no file contains fails with the
first line that no longer matches, so that code and docs cannot drift.

Numbered source lines shown in any block ("  >>  299  <code>", under a
"-> module/update.c:299" line, as make demo-kcsan prints them) must be those
lines of that file today.

Every variable that `make help` names (VAR=) must be read by the Makefile
or a script it runs, so that the help cannot name one that is ignored.

Also: no issue number ("issue 12") anywhere in the tree, and no path of
the machine the docs were written on (the work, home and root directories
that MACHINE_DIRS names) in any tracked text file. One TAP line per
excerpt and per check.
"""
import os
import re
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCES = ("module", "include/uapi", "userspace", "tests")
# Directories of the machine a doc was written on; spelt here in pieces,
# so that this file does not name them itself.
MACHINE_DIRS = ("wo" + "rk", "ho" + "me")
MACHINE_PATHS = (r"(^|[^A-Za-z0-9_$\"'])/(%s)/|[^$\"A-Za-z0-9_]/ro" % "|".join(MACHINE_DIRS)
                 + r"ot/\.")


def norm(line):
    line = re.sub(r"/\*[^*]*\*/\s*$", "", line)     # a trailing comment
    return " ".join(line.split())


def sources():
    out = {}
    for d in SOURCES:
        for root, _, files in os.walk(os.path.join(TOP, d)):
            for f in files:
                if f.endswith((".c", ".h")):
                    path = os.path.join(root, f)
                    with open(path, encoding="utf-8") as fh:
                        out[os.path.relpath(path, TOP)] = [norm(l) for l in fh]
    return out


def excerpts(path):
    """(first line number, [lines]) of each ```c block in @path."""
    blocks, cur, start = [], None, 0
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            s = line.rstrip("\n")
            if cur is None and s.strip() == "```c":
                cur, start = [], n + 1
            elif cur is not None and s.strip() == "```":
                blocks.append((start, cur))
                cur = None
            elif cur is not None:
                cur.append(s)
    return blocks


def match(block, lines):
    """How many of @block's lines are found, in order, in @lines."""
    want = [norm(l) for l in block if norm(l) and norm(l) != "..."]
    i = 0
    for got in lines:
        if i < len(want) and got == want[i]:
            i += 1
    return i, want


def numbered(doc):
    """Check "  >>  N  code" lines against the file named above them."""
    rel = os.path.relpath(doc, TOP)
    bad, seen, src = 0, 0, None
    with open(doc, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            m = re.search(r"-> (module/[\w.]+):\d+\s*$", line)
            if m:
                with open(os.path.join(TOP, m.group(1)), encoding="utf-8") as f:
                    src = f.read().split("\n")
                continue
            if src is None:
                continue
            m = re.match(r"^\s+(?:>>)?\s+(\d+)(?:  (.*))?$", line.rstrip("\n"))
            if not m:
                src = None      # the numbered lines under "->" end here
                continue
            seen += 1
            code = m.group(2) or ""
            num = int(m.group(1))
            want = src[num - 1] if 0 < num <= len(src) else None
            if want is None or norm(want) != norm(code):
                bad += 1
                print("not ok - %s:%d: line %s is not '%s' any more"
                      % (rel, n, m.group(1), code.strip()))
    if seen and not bad:
        print("ok - %s: %d numbered source lines match" % (rel, seen))
    return bad


def help_variables():
    """make help's VAR= names, each read somewhere; the number unread."""
    with open(os.path.join(TOP, "Makefile"), encoding="utf-8") as fh:
        text = fh.read()
    helped = re.findall(r"^#   .*$", text, re.M)
    names = sorted(set(re.findall(r"\b([A-Z][A-Z0-9_]*)=", "\n".join(helped))))
    code = [l for l in text.split("\n") if not l.startswith("#")]
    for root, _, files in os.walk(os.path.join(TOP, "scripts")):
        for f in files:
            with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
                code += [l for l in fh.read().split("\n")
                         if not l.lstrip().startswith("#")]
    code = "\n".join(code)
    bad = [n for n in names
           if not re.search(r"\$[({]%s\b|\$%s\b|\b%s\s*[?:+]?=" % (n, n, n), code)]
    if bad:
        print("not ok - make help names variables nothing reads: %s" % " ".join(bad))
    else:
        print("ok - make help's %d variables are read (%s)" % (len(names), " ".join(names)))
    return len(bad)


def tree_grep(pattern, flags, exclude):
    """Lines of the tree's files that match @pattern, as "path:line:text":
    the files git tracks, or, where there is no git (a copy of the tree, as
    check-distro's system has), every file but what builds make."""
    try:
        run = subprocess.run(["git", "-C", TOP, "ls-files", "-z"],
                             capture_output=True, check=True)
        files = [f for f in run.stdout.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for root, dirs, names in os.walk(TOP):
            dirs[:] = [d for d in dirs if d not in (".git", "build", "exercise", "__pycache__")]
            files += [os.path.relpath(os.path.join(root, n), TOP) for n in names
                      if not n.startswith(".") and n not in ("Module.symvers", "modules.order")
                      and not n.endswith((".o", ".ko", ".mod", ".mod.c", ".a"))]
    regex = re.compile(pattern, flags)
    hits = []
    for path in sorted(files):
        if path in exclude:
            continue
        try:
            with open(os.path.join(TOP, path), "rb") as f:
                data = f.read()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue
        for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if regex.search(line):
                hits.append("%s:%d:%s" % (path, n, line))
    return "\n".join(hits)


def lab_table(readme):
    """The README's table of the lab's tasks names, for each task of
    lab/tasks, the file that lab/tasks says holds it, and no other task."""
    tasks = {}
    with open(os.path.join(TOP, "lab", "tasks")) as f:
        for line in f:
            if line[:1].isdigit():
                num, path, _ = line.rstrip("\n").split("\t")
                tasks[num] = path
    rows = {}
    with open(readme) as f:
        for line in f:
            m = re.match(r"^\| ([0-9]+) \| `([^`]+)`:", line)
            if m:
                rows[m.group(1)] = m.group(2)
    name = os.path.relpath(readme, TOP)
    if rows == tasks:
        print("ok - %s's table of tasks is lab/tasks' (%d tasks)" % (name, len(tasks)))
        return 0
    print("not ok - %s's table of tasks is lab/tasks'" % name)
    print("#   lab/tasks: %s" % sorted(tasks.items()))
    print("#   %s: %s" % (name, sorted(rows.items())))
    return 1


def main():
    srcs = sources()
    docs = [os.path.join(TOP, "README.md")]
    for root, _, files in os.walk(os.path.join(TOP, "docs")):
        docs += [os.path.join(root, f) for f in sorted(files) if f.endswith(".md")]
    failed = 0
    for doc in docs:
        rel = os.path.relpath(doc, TOP)
        for start, block in excerpts(doc):
            best, best_file, want = -1, None, []
            for name, lines in srcs.items():
                got, want = match(block, lines)
                if got > best:
                    best, best_file = got, name
                if got == len(want):
                    break
            if want and best == len(want):
                print("ok - excerpt %s:%d is in %s" % (rel, start, best_file))
            else:
                failed += 1
                print("not ok - excerpt %s:%d matches no source file" % (rel, start))
                print("#   closest: %s; first line not found there: %s"
                      % (best_file, want[best] if 0 <= best < len(want) else "?"))
    for doc in docs:
        failed += numbered(doc)
    failed += 1 if help_variables() else 0
    failed += lab_table(os.path.join(TOP, "README.md"))
    tracked = tree_grep(MACHINE_PATHS, 0, ())
    issues = tree_grep(r"\bissues? #?[0-9]+\b", re.I, ("tests/docs/doc_excerpts.py",))
    if issues:
        failed += 1
        print("not ok - no issue numbers in the tree (history belongs in commits)")
        for l in issues.splitlines()[:10]:
            print("#   " + l)
    else:
        print("ok - no issue numbers in the tree")
    if tracked:
        failed += 1
        print("not ok - no machine paths in the tree")
        for l in tracked.splitlines()[:10]:
            print("#   " + l)
    else:
        print("ok - no machine paths in the tree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
