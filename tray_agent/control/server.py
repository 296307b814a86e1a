"""Control channel server: answers the CLI, tray and dialogs for the running agent.

Only the same user can connect: on Linux the socket lives in the 0700 runtime directory and
each connection's peer uid is checked (SO_PEERCRED); on Windows the named pipe is per user.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Listener
from pathlib import Path
from typing import Any

from tray_agent import strictjson
from tray_agent.control.protocol import FAMILY, ControlError
from tray_agent.platform import POSIX_PERMISSIONS, files

log = logging.getLogger("tray_agent.control")

Handler = Callable[[str, dict[str, Any]], Any]
# Pending connections: the tray, dialogs and several commands may connect at once.
BACKLOG = 64


_peer_uid = files.peer_uid  # SO_PEERCRED; None where the OS has no such check


class ControlServer:
    def __init__(self, address: str, handler: Handler) -> None:
        self.address = address
        self._handler = handler
        if FAMILY == "AF_UNIX":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(address)
            old = os.umask(0o077)
            try:
                self._listener = Listener(address, family=FAMILY, backlog=BACKLOG)
            finally:
                os.umask(old)
            os.chmod(address, 0o600)
        else:
            self._listener = Listener(address, family=FAMILY, backlog=BACKLOG)
        self._closed = False
        self._thread = threading.Thread(target=self._accept_loop, name="control", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(Exception):
            self._listener.close()
        if FAMILY == "AF_UNIX":
            with contextlib.suppress(FileNotFoundError):
                Path(self.address).unlink()

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                conn = self._listener.accept()
            except OSError:
                if self._closed:
                    return
                continue
            if POSIX_PERMISSIONS:
                uid = _peer_uid(conn)
                if uid is not None and uid != files.user_id():
                    log.warning("control.refused", extra={"fields": {"uid": uid}})
                    conn.close()
                    continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: Any) -> None:
        with conn:
            while True:
                try:
                    raw = conn.recv_bytes()
                except (EOFError, OSError):
                    return
                try:
                    req = json.loads(raw)
                    result = self._handler(str(req["method"]), dict(req.get("params") or {}))
                    reply: dict[str, Any] = {"ok": True, "result": result}
                except ControlError as exc:
                    reply = {"ok": False, "error": str(exc)}
                except Exception as exc:
                    reply = {"ok": False, "error": str(exc) or type(exc).__name__}
                try:
                    data = strictjson.dumps(reply, default=str)
                except (RecursionError, TypeError, ValueError) as exc:  # cannot be JSON at all
                    log.warning("control.unserialisable", extra={"fields": {"error": str(exc)}})
                    data = strictjson.dumps({"ok": False, "error": f"unserialisable reply: {exc}"})
                try:
                    conn.send_bytes(data.encode())
                except OSError:
                    return
