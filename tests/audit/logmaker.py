"""A real audit log on disk for the export tests: request events as the writer makes them
from sidecar events, security actions, checkpoints, rotation, over several days."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tray_agent.audit.keys import Signer, load_signer, trusted_keys
from tray_agent.audit.log import AuditLog, lines_of, log_files
from tray_agent.audit.records import Identifiers, request_fields
from tray_agent.secrets import MemoryStore

DAY = 86400.0
START = 1_796_083_200.0  # 2026-12-01T00:00:00Z
EMPLOYEE = "E10442"
# Values a CEF or JSON writer must escape: pipes, equals, backslashes, a line break; and a
# letter beyond ASCII (CEF is UTF-8).
# CEF and OCSF special characters; no line break: ``records.clean`` drops control characters
AWKWARD = "upstream said: a|b=c \\ d, second line, caf\u00e9"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Log:
    dir: Path
    store: MemoryStore
    signer: Signer
    clock: Clock
    log: AuditLog
    written: list[tuple[int, str, float]] = field(default_factory=list)  # seq, event, time

    @property
    def keys(self) -> dict[str, Any]:
        return trusted_keys(self.dir)

    def lines(self) -> list[bytes]:
        return [raw for p in log_files(self.dir) for _n, raw, _c in lines_of(p)]


def sidecar_event(i: int) -> dict[str, Any]:
    """A sidecar ``request`` event (``sidecar/metrics.py``) of request number ``i``."""
    routes = ("/v1/chat/completions", "/v1/messages", "/v1/responses")
    payload: dict[str, Any] = {
        "request_id": f"req-{i:05d}",
        "route": routes[i % 3],
        "client": ("claude-code", "codex", "gemini-cli")[i % 3],
        "model": "internal-model",
        "status": 200,
        "latency_ms": 10.25 + i,
        "stream": i % 2 == 0,
        "tokens_in": 12 + i,
        "tokens_out": 30 + i,
    }
    if i % 7 == 3:
        payload.update(status=429, refused="rpm", error="rate limit: 60 requests per minute")
    if i % 11 == 5:
        payload.update(status=502, error=AWKWARD)
    return payload


def make_log(audit_dir: Path, days: int = 3, per_day: int = 40) -> Log:
    store = MemoryStore()
    signer = load_signer(store, audit_dir)
    assert signer is not None
    clock = Clock(START + 3600)
    log = AuditLog(audit_dir, signer, wall=clock, max_file_bytes=6000)
    made = Log(audit_dir, store, signer, clock, log)
    ids = Identifiers(store)
    project = {"project": "apollo"}
    n = 0
    for day in range(days):
        clock.now = START + day * DAY + 3600
        actions: list[tuple[str, dict[str, Any]]] = [
            ("token.login", {"employee_id": EMPLOYEE, "expires_at": "2026-12-09T00:00:00Z"}),
            ("env.added", {"name": "CORP|PROJECT=X"}),
            ("config.applied", {"digest": "sha256:" + "ab" * 32}),
        ]
        for name, fields in actions:
            _append(made, [(name, fields)])
            clock.now += 60
        for _ in range(per_day):
            fields = _request_fields(sidecar_event(n), project, ids)
            _append(made, [("request", fields)], seal=n % 15 == 14)
            clock.now += 30
            n += 1
        _append(made, [("token.logout", {"employee_id": EMPLOYEE})], seal=True)
    return made


def _request_fields(payload: dict[str, Any], project: dict[str, Any], ids: Identifiers) -> Any:
    """What the writer logs for a sidecar event (identifiers plain: ``ids.hashed`` is off)."""
    return ids.apply(request_fields(payload, EMPLOYEE, project))


def _append(made: Log, events: list[tuple[str, dict[str, Any]]], seal: bool = False) -> None:
    done = made.log.append(events, seal=seal)
    assert done is not None
    for seq in range(done.first_seq, done.last_seq + 1):
        made.written.append((seq, "", made.clock.now))
