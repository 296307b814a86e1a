"""Start a program the user looks at (an editor, a file manager) and never wait for it.

The one launcher behind every desktop opener: detached (own session or process group, no
stdio tied to ours), and reaped by a daemon thread so a long-lived tray collects no zombies
however many times "Edit config" or "Open logs" is clicked.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any


def spawn_detached(argv: list[str], **popen: Any) -> subprocess.Popen[bytes]:
    """Start ``argv`` detached; a background thread waits for it (returns at once).

    Detached means a session of its own on POSIX and a process group of its own on Windows
    (as ``_posix``/``_win32`` spawn every child); ``popen`` adds to or overrides that.
    """
    kwargs: dict[str, Any] = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
        "close_fds": True,
    }
    if sys.platform == "win32":
        kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True
    kwargs.update(popen)
    proc: subprocess.Popen[bytes] = subprocess.Popen(argv, **kwargs)
    threading.Thread(target=proc.wait, name=f"reaper-{proc.pid}", daemon=True).start()
    return proc
