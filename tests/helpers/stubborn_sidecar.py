"""A sidecar stand-in for supervision tests (``LITELLM_BRIDGE_SIDECAR_CMD``): it reports
ready, then ignores SIGTERM, drain messages and stdin EOF, and so does a child it spawned in a
session of its own. Only SIGKILL of the whole tree ends them.

Usage: ``python -m tests.helpers.stubborn_sidecar PIDFILE`` -- PIDFILE gets "<own> <child>".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

CHILD = (
    "import os, signal, time\n"
    "os.setsid()\n"  # out of the sidecar's process group: killpg alone misses it
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "while True:\n"
    "    time.sleep(60)\n"
)


def main() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", CHILD])
    with open(sys.argv[1] + ".tmp", "w") as fh:
        fh.write(f"{os.getpid()} {child.pid}")
    os.replace(sys.argv[1] + ".tmp", sys.argv[1])
    events = os.fdopen(int(os.environ["LITELLM_BRIDGE_EVENTS_FD"]), "w")
    events.write(json.dumps({"event": "ready", "pid": os.getpid()}) + "\n")
    events.flush()
    for _line in sys.stdin:  # drain requests are ignored
        pass
    while True:  # and so is the agent closing stdin
        time.sleep(60)


if __name__ == "__main__":
    main()
