"""The agent's audit writer: every request and security-relevant change, off the request path.

Runtime extension. Observers on the core thread only queue events (no file access there);
a worker thread appends them every ``FLUSH_INTERVAL`` through ``AuditLog`` (so they are on
disk within a second), seals a checkpoint every ``CHECKPOINT_EVENTS`` events or
``CHECKPOINT_SECONDS`` and at a clean stop, and applies retention every hour.

Failure: when the log cannot be written (disk full, permissions) the events stay queued (up
to ``MAX_QUEUED``; beyond that they are counted as lost) and status says why. Once writing
works again an ``audit.gap`` event records what was lost. With ``audit.required`` in the
policy, the core is told (``AuditChanged``) and every sidecar refuses model requests with
503 until writing works again. The writer also checks the disk before it is full, so the
refusal starts before an event is lost.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from tray_agent.audit.chain import stamp
from tray_agent.audit.events import AuditChanged
from tray_agent.audit.keys import SEALED_NAME, known_key_ids, load_signer, sealed_head
from tray_agent.audit.log import AuditLog, AuditTampered, Event, chain_problem
from tray_agent.audit.records import Identifiers, clean, request_fields
from tray_agent.logs.setup import event
from tray_agent.seams import ExtensionHost

log = logging.getLogger("tray_agent.audit")

FLUSH_INTERVAL = 0.5
CHECKPOINT_EVENTS = 1000
CHECKPOINT_SECONDS = 300.0
PRUNE_INTERVAL = 3600.0
MAX_QUEUED = 50_000
LOCK_WAIT = 2.0
MIN_FREE_BYTES = 1 << 20  # below this the disk counts as full: refuse before losing events
DEFAULT_MAX_BYTES = 1 << 30

# Structured log events of the agent that are security-relevant, and their audit names.
LOGGED = {
    "config.changed": "config.applied",
    "config.invalid": "config.rejected",
    "config.rollback": "config.rolled_back",
    "sidecar.integrity_refused": "sidecar.integrity_refused",
}


class _LogBridge(logging.Handler):
    """Turns the named structured log events into audit events (fields redacted, bounded)."""

    def __init__(self, writer: AuditWriter) -> None:
        super().__init__(logging.DEBUG)
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        name = LOGGED.get(str(record.msg))
        if name is not None:
            fields = getattr(record, "fields", None) or {}
            self.writer.record(name, {k: clean(v) for k, v in dict(fields).items()})


class AuditWriter:
    """Runtime extension: queues events, a worker thread writes, seals and prunes them."""

    def __init__(
        self,
        rt: ExtensionHost,
        *,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rt = rt
        self.dir = rt.paths.audit_dir
        self.wall, self.clock = wall, clock
        signer = None
        self.key_problem: str | None = None
        self._sealed: tuple[int, str] | None = None  # the last checkpoint this one signed
        self._known: set[str] = set()  # key ids this installation made
        self.tampered: str | None = None  # why nothing is sealed any more this run
        try:
            signer = load_signer(rt.secrets, self.dir)
            self._sealed = sealed_head(rt.secrets)
            self._known = known_key_ids(rt.secrets)
        except Exception as exc:  # no keyring: the log is still written, only not sealed
            self.key_problem = f"no audit signing key ({exc}): checkpoints are not written"
            event(log, logging.WARNING, "audit.no_key", error=str(exc))
        # A short wait for the log's lock: a process holding it keeps the writer (and, with
        # audit.required, every request) waiting no longer than this; then it counts as failing.
        self.log = AuditLog(self.dir, signer, wall=wall, lock_wait=LOCK_WAIT)
        self.ids = Identifiers(rt.secrets)
        self._lock = threading.Lock()
        self._queue: list[Event] = []
        self._lost = 0
        self._lost_since: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._worker, name="audit", daemon=True)
        self._failing: str | None = None
        self._told_blocked: str | None = None
        self.required = False
        self.retention_days = 90
        self.max_bytes = DEFAULT_MAX_BYTES
        self._since_checkpoint = 0
        self._sealed_at = clock()
        self._pruned_at = -PRUNE_INTERVAL
        self.written = 0
        self.last_verify: dict[str, Any] | None = None
        self.last_seq: int | None = None
        self.last_checkpoint: str | None = None
        self._token: dict[str, Any] = {}
        self._policy_state: tuple[Any, ...] | None = None
        self._projects: tuple[int, dict[str, Any]] | None = None
        self._bridge = _LogBridge(self)
        agent = rt.agent
        agent.on("request", self._on_request)
        agent.on("policy_changed", self._on_policy)
        agent.subscribe(self._on_snapshot)
        rt.status_extras["audit"] = self.status
        snap = agent.snapshot()
        self._on_snapshot(snap, record=False)
        policy = snap.get("policy")
        if isinstance(policy, dict) and policy.get("source") is not None:
            self._on_policy(policy)

    # -- queueing (any thread) ------------------------------------------------------------
    def record(self, name: str, fields: Mapping[str, Any]) -> None:
        """Queue one event (any thread; identifiers are hashed by the worker, which may
        have to fetch the salt from the keyring)."""
        with self._lock:
            if len(self._queue) >= MAX_QUEUED:
                self._lost += 1
                self._lost_since = self._lost_since or stamp(self.wall())
                return
            self._queue.append((name, fields if isinstance(fields, _RawRequest) else dict(fields)))

    # -- observers (core thread: no blocking, no file access) -------------------------------
    def _on_request(self, payload: dict[str, Any]) -> None:
        # Only the references here: the fields are built (and redacted) by the worker.
        raw = _RawRequest(
            payload=payload,
            employee=self._token.get("employee_id"),
            prepared=self.rt.agent.latest_prepared,
        )
        self.record("request", raw)

    def _fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """An event's fields as the log keeps them (worker thread)."""
        if isinstance(fields, _RawRequest):
            payload = fields["payload"]
            project = self._project(fields["prepared"], payload.get("model"))
            fields = request_fields(payload, fields["employee"], project)
        return self.ids.apply(fields)

    def _project(self, prepared: Any, model: Any) -> dict[str, Any] | None:
        """The non-secret project fields the sidecar injects for ``model`` (e.g.
        ``{"project": "apollo"}``): fields named like ``*project*``."""
        if prepared is None:
            return None
        if self._projects is None or self._projects[0] != id(prepared):
            self._projects = (id(prepared), {})
        cache = self._projects[1]
        key = str(model or "")
        if key not in cache:
            cache[key] = _project_fields(prepared, key)
        return cache[key] or None

    def _on_snapshot(self, snap: dict[str, Any], record: bool = True) -> None:
        token = snap.get("token")
        if not isinstance(token, dict):
            return
        before, self._token = self._token, dict(token)
        if record:
            for name, fields in _token_changes(before, self._token):
                self.record(name, fields)

    def _on_policy(self, view: dict[str, Any]) -> None:
        effective = view.get("effective") if isinstance(view.get("effective"), dict) else {}
        audit = (effective or {}).get("audit") or {}
        self.required = bool(audit.get("required")) and view.get("state") != "none"
        self.retention_days = int(audit.get("retention_days") or 90)
        size = audit.get("max_size_mb")
        self.max_bytes = int(size) * (1 << 20) if isinstance(size, int) else DEFAULT_MAX_BYTES
        self.ids.hashed = bool(audit.get("hash_identifiers"))
        state = (view.get("state"), view.get("reason"), json.dumps(effective, sort_keys=True))
        if state == self._policy_state:
            return
        first = self._policy_state is None
        self._policy_state = state
        name = "policy.loaded" if first else "policy.changed"
        if view.get("refused") or view.get("error"):
            name = "policy.refused"
        self.record(
            name,
            {
                "state": view.get("state"),
                "source": clean(view.get("source")),
                "reason": view.get("reason"),
                "problem": clean(view.get("refused") or view.get("error")),
            },
        )
        self._tell_core()

    # -- own thread -----------------------------------------------------------------------
    def _worker(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL):
            self.flush()

    def verify_now(self) -> dict[str, Any]:
        """Verify the whole log (at start, off the core thread); status shows the result
        and a failure is itself recorded."""
        from tray_agent.audit.keys import trusted_keys
        from tray_agent.audit.verify import verify_path

        try:
            # Only keys this installation made: anyone can drop a .pub beside the log.
            keys = trusted_keys(self.dir)
            if self._known:
                keys = {kid: key for kid, key in keys.items() if kid in self._known}
            report = verify_path(self.dir, keys)  # = installation_keys, without a keyring call
            problem = str(report.problem) if report.problem else None
            if problem is None and self._sealed is not None:
                problem = chain_problem(self.dir, *self._sealed)
                if problem is not None:
                    self.tampered = problem
            result: dict[str, Any] = {"ok": problem is None, "events": report.events}
            result["problem"] = problem
        except OSError as exc:
            result = {"ok": False, "events": 0, "problem": f"cannot read the log: {exc}"}
        result["time"] = stamp(self.wall())
        self.last_verify = result
        if not result["ok"]:
            event(log, logging.ERROR, "audit.verify_failed", problem=result["problem"])
            self.record("audit.verify_failed", {"problem": clean(result["problem"])})
        return result

    def flush(self, final: bool = False) -> None:
        """Write what is queued (sealing when due); note a failure or a recovery."""
        with self._lock:
            events, self._queue = self._queue, []
            lost, since = self._lost, self._lost_since
        problem = self._disk_problem()
        if problem is None and (events or final or self._seal_due(0)):
            batch = [(name, self._fields(fields)) for name, fields in events]
            if lost:  # events that found no room: say so once writing works
                why = clean(self._failing) if self._failing else "too many events queued"
                batch.insert(0, ("audit.gap", {"lost": lost, "since": since, "reason": why}))
            seal = (final or self._seal_due(len(batch))) and self.tampered is None
            try:
                try:
                    appended = self.log.append(batch, seal=seal, sealed_from=self._sealed)
                except AuditTampered as exc:  # never sign over it: write, say so, stop sealing
                    self._found_tampering(str(exc))
                    batch.append(("audit.verify_failed", {"problem": clean(str(exc))}))
                    appended, seal = self.log.append(batch), False
            except Exception as exc:  # OSError mostly; never lose the worker thread
                problem = f"cannot write {self.dir}: {getattr(exc, 'strerror', None) or exc}"
            else:
                if lost:
                    with self._lock:
                        self._lost -= lost
                        self._lost_since = self._lost_since if self._lost else None
                self._written(appended, len(batch), seal)
                events = []
        if events:  # not written: back to the front of the queue (bounded)
            with self._lock:
                room = max(0, MAX_QUEUED - len(self._queue))
                self._lost += max(0, len(events) - room)
                if len(events) > room:
                    self._lost_since = self._lost_since or stamp(self.wall())
                self._queue = events[:room] + self._queue
        self._set_failing(problem)
        if not final and self.clock() - self._pruned_at >= PRUNE_INTERVAL:
            self._pruned_at = self.clock()
            self._prune()

    def _seal_due(self, adding: int) -> bool:
        if self.log.signer is None:
            return False
        pending = self._since_checkpoint + adding
        return pending >= CHECKPOINT_EVENTS or (
            pending > 0 and self.clock() - self._sealed_at >= CHECKPOINT_SECONDS
        )

    def _found_tampering(self, problem: str) -> None:
        self.tampered = problem
        self.last_verify = {
            "ok": False,
            "events": 0,
            "problem": problem,
            "time": stamp(self.wall()),
        }
        event(log, logging.ERROR, "audit.verify_failed", problem=problem)

    def _written(self, appended: Any, count: int, seal: bool) -> None:
        if appended is None:
            return
        self.written += count
        self.last_seq = appended.last_seq
        if seal and appended.checkpoints:  # the last line is the checkpoint just signed
            self._sealed = (appended.last_seq, appended.head)
            try:
                self.rt.secrets.set(SEALED_NAME, f"{appended.last_seq}:{appended.head}")
            except Exception as exc:
                event(log, logging.WARNING, "audit.seal_unsaved", error=str(exc))
        if appended.checkpoints:
            self._since_checkpoint = 0 if seal else count
            self._sealed_at = self.clock()
            self.last_checkpoint = stamp(self.wall())
        else:
            self._since_checkpoint += count

    def _disk_problem(self) -> str | None:
        """Why the next write would fail, checked before it does (None: it would not)."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            free = shutil.disk_usage(self.dir).free
        except OSError as exc:
            return f"cannot use {self.dir}: {exc.strerror or exc}"
        if free < MIN_FREE_BYTES:
            return f"the disk holding {self.dir} is full ({free // 1024} KiB free)"
        if not os.access(self.dir, os.W_OK | os.X_OK):
            return f"{self.dir} is not writable"
        return None

    def _set_failing(self, problem: str | None) -> None:
        if problem == self._failing:
            return
        if problem is not None and self._failing is None:
            event(log, logging.ERROR, "audit.write_failed", error=problem)
        elif problem is None:
            event(log, logging.INFO, "audit.write_recovered")
        self._failing = problem
        self._tell_core()

    def _tell_core(self) -> None:
        blocked = self._failing if self.required else None
        if blocked != self._told_blocked:
            self._told_blocked = blocked
            self.rt.agent.post(AuditChanged(blocked))

    def _prune(self) -> None:
        try:
            removed = self.log.prune(self.retention_days, self.max_bytes)
        except OSError as exc:
            event(log, logging.WARNING, "audit.prune_failed", error=str(exc))
            return
        if removed:
            self.record("audit.retention", {"removed": [p.name for p in removed]})

    def status(self) -> dict[str, Any]:
        return {
            "dir": str(self.dir),
            "ok": self._failing is None,
            "error": self._failing,
            "required": self.required,
            "blocking": self._told_blocked is not None,
            "written": self.written,
            "last_seq": self.last_seq,
            "last_checkpoint": self.last_checkpoint,
            "key_id": self.log.signer.key_id if self.log.signer else None,
            "key_problem": self.key_problem,
            "hash_identifiers": self.ids.hashed,
            "last_verify": self.last_verify,
        }

    def start(self) -> None:
        from tray_agent.audit import action

        action.use(self.record)
        logging.getLogger("tray_agent").addHandler(self._bridge)
        self.record("agent.started", {"pid": os.getpid()})
        self.flush()
        self._thread.start()
        threading.Thread(target=self.verify_now, name="audit-verify", daemon=True).start()

    def stop(self) -> None:
        """Stop the worker, write what is queued and seal it."""
        from tray_agent.audit import action

        action.use(None)
        logging.getLogger("tray_agent").removeHandler(self._bridge)
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.record("agent.stopped", {"pid": os.getpid()})
        with contextlib.suppress(Exception):
            self.flush(final=True)


class _RawRequest(dict[str, Any]):
    """A sidecar request event as queued by the core thread, built into fields later."""


def _token_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Event]:
    """Sign-in, sign-out, refresh and refresh failure, from two token statuses."""
    if not before:
        return []
    out: list[Event] = []
    was, now = before.get("state"), after.get("state")
    who = after.get("employee_id") or before.get("employee_id")
    live = ("valid", "expiring")
    if now in live and (was not in (*live, "refreshing") or who != before.get("employee_id")):
        out.append(("token.login", {"employee_id": who, "expires_at": after.get("expires_at")}))
    elif now in live and after.get("expires_at") != before.get("expires_at"):
        out.append(("token.refreshed", {"employee_id": who, "expires_at": after.get("expires_at")}))
    if now == "absent" and was != "absent":
        out.append(("token.logout", {"employee_id": who}))
    error = after.get("last_error")
    if error and error != before.get("last_error"):
        out.append(("token.refresh_failed", {"employee_id": who, "error": clean(error)}))
    return out


def _project_fields(prepared: Any, model: str) -> dict[str, Any]:
    from sidecar.inject import InjectSpecError, lookup, parse_spec

    try:
        spec = parse_spec(json.dumps(getattr(prepared, "inject", None) or {}))
    except InjectSpecError:
        return {}
    injection = lookup(spec, model) if model else None
    if injection is None:
        return {}
    env: Mapping[str, str] = getattr(prepared, "env", {}) or {}
    secret = set(getattr(prepared, "secret_values", ()) or ())
    out: dict[str, Any] = {}
    for field, name in injection.env.items():
        if "project" in field.lower():
            value = env.get(name)
            out[field] = "[secret]" if value in secret else clean(value)
    for field, value in injection.literal.items():
        if "project" in field.lower():
            out[field] = clean(value)
    return out
