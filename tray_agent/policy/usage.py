"""Quota usage on this machine: counted by the agent, kept in ``usage.json``, told to all.

The agent counts, not the sidecar: every sidecar's ``request`` events reach the core, so
the two sidecars of a config swap count into one total, and a sidecar restart loses
nothing. The counters (``tray_agent.policy.usage_book``) are saved at most every
``SAVE_INTERVAL`` seconds and at stop, so a ``kill -9`` of the agent loses at most that
much counting. After each change (at most once a second), at a new day or month, and once
at start the usage goes to the core as ``UsageChanged``: status shows it as
``policy.usage`` and every sidecar refuses requests over quota from it.

Keyed by the employee ID the token status names (also after a sign-out, which keeps the ID:
signing out does not start a fresh quota), ``unknown`` before anyone ever signed in.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tray_agent.logs.setup import event
from tray_agent.paths import Paths
from tray_agent.policy.events import UsageChanged
from tray_agent.policy.usage_book import USAGE_FILE, load_book, write_book
from tray_agent.seams import ExtensionHost

log = logging.getLogger("tray_agent.policy.usage")

SAVE_INTERVAL = 2.0
POST_INTERVAL = 1.0
TICK = 0.25


def usage_path(paths: Paths) -> Path:
    return paths.data_dir / USAGE_FILE


def read_summary(paths: Paths, now: float | None = None) -> dict[str, Any] | None:
    """The usage dict of the employee the agent counted last, from the file (no agent).

    None when nothing was recorded or the file is unreadable; a day or month that has ended
    since reads as zero, as the agent would show it.
    """
    book, problem = load_book(usage_path(paths))
    if problem is not None or not book.employees:
        return None
    return book.usage(time.time() if now is None else now)


def quota_of(view: dict[str, Any]) -> dict[str, Any] | None:
    """The effective policy's ``quota`` section in a ``policy_changed`` view (its
    ``effective`` document; ``{}``: no quota), None when the view does not say."""
    for holder in (view.get("effective"), view):
        if isinstance(holder, dict) and "quota" in holder:
            quota = holder["quota"]
            return dict(quota) if isinstance(quota, dict) else {}
    return None


MAX_JOURNAL = 100_000  # requests counted while taking over (seconds of traffic)
# How long after taking over the predecessor's last counts are accepted: its drain timeout
# (300 s) and a margin.
REPLAY_WINDOW = 360.0


class UsageTracker:
    """Runtime extension: counts request events, saves them, posts ``UsageChanged``."""

    def __init__(
        self,
        rt: ExtensionHost,
        *,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rt = rt
        self.path = usage_path(rt.paths)
        self.wall, self.clock = wall, clock
        self.book, problem = load_book(self.path)
        if problem is not None:
            event(log, logging.WARNING, "usage.file_unreadable", file=str(self.path), error=problem)
            self._set_aside()
        self._lock = threading.Lock()  # the book: observers (core thread) vs. the worker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._worker, name="usage", daemon=True)
        self._unsaved = problem is not None
        self._unposted = True
        self._posted_at = -POST_INTERVAL
        self._saved_at = self.clock()
        self._save_failing = False
        self._period: tuple[str, str] | None = None
        self._views: list[dict[str, Any]] = []
        # A successor counts beside its predecessor for a few seconds: what it counts
        # meanwhile is replayed onto the predecessor's last save (``rebase``).
        self._journal: list[tuple[dict[str, Any], float]] | None = None
        if rt.took_over is not None:
            self._journal = []
            rt.took_over.append(self.rebase)
        # Handing over: save now, then journal what our draining sidecar still serves and
        # pass it to the successor at the end (``replay``) instead of writing over its file.
        self._handed = False
        self._replay_from: float | None = None
        rt.handing_over.append(self._hand_over)
        rt.resumed.append(self._resume)
        rt.handlers["usage.replay"] = self._replay
        agent = rt.agent
        agent.on("request", self._on_request)
        agent.on("policy_changed", self._on_policy)
        agent.subscribe(self._on_snapshot)
        snap = agent.snapshot()
        self._on_snapshot(snap)
        policy = snap.get("policy")
        if isinstance(policy, dict) and policy.get("source") is not None:
            self._views.append(policy)  # the policy watcher reported before this started

    def _set_aside(self) -> None:
        """Keep the unreadable file for a look (``usage.json.corrupt``); best effort."""
        with contextlib.suppress(OSError):
            self.path.replace(self.path.with_name(self.path.name + ".corrupt"))

    # -- observers (core thread: no blocking, no file access) ----------------------------
    def _on_request(self, payload: dict[str, Any]) -> None:
        now = self.wall()
        with self._lock:
            if self.book.record(payload, now):
                self._unsaved = self._unposted = True
                if self._journal is not None and len(self._journal) < MAX_JOURNAL:
                    self._journal.append((payload, now))

    def _hand_over(self) -> None:
        """Save the book as it is and journal from the same instant (one lock: no request
        falls between the two)."""
        with self._lock:
            self._journal, self._handed = [], True
            data = self.book.to_json()
            self._unsaved = False
        write_book(data, self.path)

    def _resume(self) -> None:
        with self._lock:  # the journaled requests are in our book already
            self._journal, self._handed = None, False
            self._unsaved = True

    def _replay(self, params: dict[str, Any]) -> dict[str, Any]:
        """The predecessor's requests that finished after the hand-over: accepted once, and
        only in the window its drain can last, each at a time inside that window (a date
        in the future would roll the day over and reset the quota)."""
        events = params.get("events")
        if not isinstance(events, list):
            raise ValueError("usage.replay: events must be a list")
        now = self.wall()
        with self._lock:
            opened, self._replay_from = self._replay_from, None
        if opened is None or now - opened > REPLAY_WINDOW:
            raise ValueError("usage.replay: only the agent this one took over from, once")
        taken = 0
        with self._lock:
            for item in events[:MAX_JOURNAL]:
                if (
                    isinstance(item, list)
                    and len(item) == 2
                    and isinstance(item[0], dict)
                    and isinstance(item[1], (int, float))
                    and not isinstance(item[1], bool)
                ) and self.book.record(item[0], min(max(float(item[1]), opened), now)):
                    taken += 1
            self._unsaved = self._unposted = True
        return {"recorded": taken}

    def _pass_on(self) -> None:
        """Give the successor what we counted after handing over (it saves the book now)."""
        from tray_agent.control.client import ControlClient

        with self._lock:
            journal, self._journal = self._journal or [], None
        if not journal:
            return
        events = [[payload, at] for payload, at in journal]
        try:
            client = ControlClient.connect(self.rt.paths, wait=15)
            if client is None:
                raise OSError("no agent answers")
            with client:
                client.call("usage.replay", timeout=30, events=events)
        except Exception as exc:
            event(log, logging.WARNING, "usage.handover_lost", requests=len(events), error=str(exc))

    def rebase(self) -> None:
        """The predecessor left: its last save plus what this agent counted since it started
        (both sidecars served meanwhile, each agent counted its own)."""
        book, problem = load_book(self.path)
        with self._lock:
            journal, self._journal = self._journal or [], None
            if problem is not None:  # keep our own count rather than lose it
                event(
                    log,
                    logging.WARNING,
                    "usage.file_unreadable",
                    file=str(self.path),
                    error=problem,
                )
                return
            book.set_quota({**self.book.quota, "timezone": self.book.timezone})
            book.current = self.book.current  # whom this agent counted the journal for
            for payload, at in journal:
                book.record(payload, at)
            self.book = book
            self._replay_from = self.wall()  # the predecessor's drain may now report in
            self._unsaved = self._unposted = True

    def _on_snapshot(self, snap: dict[str, Any]) -> None:
        token = snap.get("token") or {}
        employee = token.get("employee_id") if isinstance(token, dict) else None
        with self._lock:
            if self.book.set_employee(employee if isinstance(employee, str) else None):
                self._unsaved = self._unposted = True
                self._posted_at = -POST_INTERVAL  # someone else signed in: say so now

    def _on_policy(self, view: dict[str, Any]) -> None:
        with self._lock:
            self._views.append(view)

    # -- own thread --------------------------------------------------------------------
    def _worker(self) -> None:
        while not self._stop.wait(TICK):
            self.tick()

    def tick(self, final: bool = False) -> None:
        """Apply a new policy, notice a new period, post and save what is due."""
        self._take_policy()
        now, mono = self.wall(), self.clock()
        with self._lock:
            period = self.book.period(now)
            key = (period.day, period.month)
            if key != self._period:
                self._period = key
                self._unposted = True
            post = self._unposted and mono - self._posted_at >= POST_INTERVAL
            save = self._unsaved and (final or mono - self._saved_at >= SAVE_INTERVAL)
            # While taking over, the file is the predecessor's: ``rebase`` reads it later.
            save = save and self._journal is None
            usage = self.book.usage(now) if post else None
            data = self.book.to_json() if save else None
            if post:
                self._unposted, self._posted_at = False, mono
            if save:
                self._unsaved, self._saved_at = False, mono
        if usage is not None and not final:
            self.rt.agent.post(UsageChanged(usage))
        if data is not None:
            try:
                write_book(data, self.path)
            except OSError as exc:
                with self._lock:
                    self._unsaved = True
                if not self._save_failing:  # once until a save works again, not every 2 s
                    event(log, logging.WARNING, "usage.save_failed", error=str(exc))
                self._save_failing = True
            else:
                self._save_failing = False

    def _take_policy(self) -> None:
        with self._lock:
            views, self._views = self._views, []
        if not views:
            return
        quota = quota_of(views[-1])
        if quota is None:
            return  # nothing says what the quota is: keep the last one
        with self._lock:
            if self.book.set_quota(quota):
                self._unsaved = self._unposted = True

    def start(self) -> None:
        self.tick()  # the usage reaches status and the sidecars at once
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking and save what is not saved yet (handed over: pass it on)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        if self._handed:
            self._pass_on()
            return
        self.tick(final=True)
