#!/usr/bin/env python3
"""Send human-monitor (HMP) commands to a running QEMU over its QMP socket.

    qmp.py SOCKET COMMAND...

Each COMMAND is one HMP command line ("info registers -a", "nmi",
"sendkey alt-sysrq-l"); what it prints goes to stdout, in order. Used by
scripts/vm/vm.sh to look inside a guest that stopped answering. QMP rather
than the HMP socket: its answers are framed (JSON), with no prompt or
terminal echo to strip. Exit status 1 if QEMU does not answer within
TIMEOUT seconds per command (default 10), say because its main loop is
stuck too; what was answered before is printed.
"""

import json
import os
import socket
import sys


def main():
    if len(sys.argv) < 3:
        print("usage: qmp.py SOCKET COMMAND...", file=sys.stderr)
        return 2
    timeout = float(os.environ.get("TIMEOUT", "10"))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(sys.argv[1])
        stream = sock.makefile("rw", encoding="utf-8", errors="replace")

        def answer():
            # Events (asynchronous) may come before the answer: skip them.
            while True:
                line = stream.readline()
                if not line:
                    raise EOFError("QEMU closed the monitor")
                msg = json.loads(line)
                if "return" in msg or "error" in msg:
                    return msg

        def execute(cmd, **args):
            stream.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
            stream.flush()
            return answer()

        stream.readline()  # the greeting
        execute("qmp_capabilities")
        for line in sys.argv[2:]:
            msg = execute("human-monitor-command", **{"command-line": line})
            if "error" in msg:
                print("%s: %s" % (line, msg["error"].get("desc", msg["error"])))
            else:
                sys.stdout.write(msg["return"])
            sys.stdout.flush()
    except (OSError, EOFError, ValueError) as err:
        print("qmp.py: %s: %s" % (sys.argv[1], err), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
