"""Keep the agent's policy current: evaluate at start, then whenever a source changes.

Polled once a second rather than watched with file events: the machine directory may not
exist yet (and must never be created by a user's agent), a ``chown``/``chmod`` that makes a
file untrusted changes no content, and the Windows registry has no file events. A poll is a
handful of ``lstat`` calls; when the fingerprint (stat of every source, its signature, its
directories, and the registry values) changes, the policy is evaluated again and, if the
result differs, ``PolicyChanged(enforced, view)`` is posted to the core.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import Any

from tray_agent.logs.setup import event
from tray_agent.platform.machine_policy import machine_policy
from tray_agent.policy.events import PolicyChanged
from tray_agent.policy.load import Effective, evaluate, store_for, unevaluable
from tray_agent.policy.sources import DROPIN_DIR, POLICY_FILE, locate, machine_dir
from tray_agent.policy.store import mac_key_from
from tray_agent.policy.view import build_view
from tray_agent.seams import ExtensionHost

log = logging.getLogger("tray_agent.policy")

POLL_INTERVAL = 1.0
SHOW_METHOD = "policy.show"


def _stat(path: Path) -> tuple[int, ...] | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def fingerprint() -> tuple[Any, ...]:
    """Everything whose change could change the policy (cheap: stats, no reads)."""
    parts: list[Any] = []
    dirs = {machine_dir(), locate().directory}
    for d in sorted(dirs):
        names = [d / POLICY_FILE, d / (POLICY_FILE + ".sig"), d / DROPIN_DIR]
        with contextlib.suppress(OSError):
            names.extend(d / DROPIN_DIR / n for n in sorted(os.listdir(d / DROPIN_DIR)))
        parts.extend((str(p), _stat(p)) for p in names)
        parts.extend((str(p), _stat(p)) for p in (d, *d.parents))
    parts.append(machine_policy.registry_values())
    return tuple(parts)


class PolicyWatch:
    """Runtime extension: posts ``PolicyChanged`` at start and on every change."""

    def __init__(self, rt: ExtensionHost, interval: float = POLL_INTERVAL) -> None:
        self.rt = rt
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="policy-watch", daemon=True)
        self._store = store_for(rt.paths.data_dir, None)
        self.current: Effective | None = None
        self.view: dict[str, Any] = {}
        rt.handlers[SHOW_METHOD] = lambda params: self.show()

    def start(self) -> None:
        # Before the core starts a sidecar (Runtime.start calls "start" after extensions),
        # so the first sidecar already gets the policy.
        self._store = store_for(self.rt.paths.data_dir, mac_key_from(self.rt.secrets, create=True))
        self._seen = fingerprint()
        self._apply()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def show(self) -> dict[str, Any]:
        """The view the agent enforces (``policy show``)."""
        return dict(self.view)

    def _apply(self) -> None:
        try:
            eff = evaluate(store=self._store)
        except Exception as exc:  # fail closed: never "no policy" because reading failed
            log.exception("policy.evaluate_failed")
            eff = unevaluable(exc)
        view = build_view(eff)
        if view == self.view:
            return
        self.current, self.view = eff, view
        problem = eff.refused or eff.error
        event(
            log,
            logging.WARNING if problem else logging.INFO,
            "policy.changed",
            state=eff.state,
            sources=eff.sources,
            problem=str(problem) if problem else None,
            reason=problem.reason if problem else None,
        )
        self.rt.agent.post(PolicyChanged(eff.enforced(), view))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                now = fingerprint()
            except Exception:
                log.exception("policy.fingerprint_failed")
                continue
            if now != self._seen:
                self._seen = now
                self._apply()
