"""The agent's audit writer around a real core, with controlled clocks: batching, checkpoints
by count and time, hashed identifiers, and what is lost (and said so) while writing fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.host import Host
from tray_agent.audit import writer as writer_mod
from tray_agent.audit.keys import trusted_keys
from tray_agent.audit.verify import verify_path
from tray_agent.audit.writer import AuditWriter
from tray_agent.core.agent import Agent
from tray_agent.paths import Paths
from tray_agent.secrets import MemoryStore


class Clocks:
    def __init__(self) -> None:
        self.now = 1_796_000_000.0
        self.mono = 1000.0

    def wall(self) -> float:
        return self.now

    def clock(self) -> float:
        return self.mono


@pytest.fixture
def core(paths: Paths) -> Iterator[Agent]:
    agent = Agent(paths, MemoryStore())
    agent.start_thread()
    try:
        yield agent
    finally:
        agent.shutdown(10)


def make(core: Agent, paths: Paths, clocks: Clocks) -> AuditWriter:
    return AuditWriter(Host(core, paths, core.secrets), wall=clocks.wall, clock=clocks.clock)


def lines(paths: Paths) -> list[dict[str, Any]]:
    return [
        json.loads(raw)
        for f in sorted(paths.audit_dir.glob("audit-*.jsonl"))
        for raw in f.read_bytes().splitlines()
    ]


def request(n: int) -> dict[str, Any]:
    return {"request_id": f"r{n}", "route": "/v1/chat/completions", "status": 200}


def test_checkpoints_come_every_1000_events_and_every_5_minutes(core: Agent, paths: Paths) -> None:
    clocks = Clocks()
    w = make(core, paths, clocks)
    for n in range(2500):
        w.record("request", request(n))
        if n % 500 == 499:
            w.flush()
    kinds = [e["event"] for e in lines(paths)]
    assert kinds.count("audit.checkpoint") == 3  # the file's first line, after 1000 and 2000
    w.record("request", request(9999))
    w.flush()
    assert lines(paths)[-1]["event"] == "request"  # 501 since the last one: not due yet
    clocks.mono += 301
    w.flush()
    assert lines(paths)[-1]["event"] == "audit.checkpoint"  # five minutes passed
    report = verify_path(paths.audit_dir, trusted_keys(paths.audit_dir))
    assert report.ok and report.events == 2501 and report.unsealed == 0


def test_events_that_found_no_room_while_writing_failed_are_counted_in_a_gap(
    core: Agent, paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_mod, "MAX_QUEUED", 100)
    clocks = Clocks()
    w = make(core, paths, clocks)
    w.flush()
    blocker = paths.audit_dir.with_name("audit.moved")
    paths.audit_dir.rename(blocker)
    paths.audit_dir.write_text("not a directory")  # the log cannot be written now
    for n in range(110):
        w.record("request", request(n))
    w.flush()
    status = w.status()
    assert status["ok"] is False and "cannot use" in status["error"]
    paths.audit_dir.unlink()
    blocker.rename(paths.audit_dir)
    w.flush()
    events = lines(paths)
    gap = next(e for e in events if e["event"] == "audit.gap")
    assert gap["lost"] == 10 and "cannot use" in gap["reason"]
    assert sum(e["event"] == "request" for e in events) == 100
    assert w.status()["ok"] is True
    assert verify_path(paths.audit_dir, trusted_keys(paths.audit_dir)).ok


def test_identifiers_are_hashed_when_the_policy_says_so(core: Agent, paths: Paths) -> None:
    w = make(core, paths, Clocks())
    w._on_policy({"state": "policy", "effective": {"audit": {"hash_identifiers": True}}})
    w.record("token.login", {"employee_id": "e1001", "project": {"project": "apollo"}})
    w.flush()
    login = next(e for e in lines(paths) if e["event"] == "token.login")
    assert login["employee_id"] == w.ids.digest("e1001") != "e1001"
    assert login["project"] == {"project": w.ids.digest("apollo")}
    assert b"e1001" not in b"".join(f.read_bytes() for f in paths.audit_dir.glob("*.jsonl"))
    assert w.status()["hash_identifiers"] is True


def test_the_writer_records_its_own_start_and_seals_at_stop(core: Agent, paths: Paths) -> None:
    w = make(core, paths, Clocks())
    w.start()
    w.stop()
    kinds = [e["event"] for e in lines(paths)]
    assert kinds[0] == "audit.checkpoint" and "agent.started" in kinds
    assert kinds[-2:] == ["agent.stopped", "audit.checkpoint"]
    assert w.status()["last_verify"]["ok"] is True
    assert isinstance(Path(w.status()["dir"]), Path)


def _forge_without_the_key(paths: Paths) -> None:
    """What a user can do with no key: drop a covered line and every checkpoint after the
    first, renumber and re-chain (verify alone would call the rest an unsealed tail)."""
    from tray_agent.audit.chain import line_hash
    from tray_agent.audit.log import log_files

    f = log_files(paths.audit_dir)[0]
    docs = [json.loads(r) for r in f.read_bytes().splitlines()]
    kept = [docs[0]] + [
        d for d in docs[1:] if d["event"] != "audit.checkpoint" and d.get("request_id") != "r3"
    ]
    out: list[bytes] = []
    for i, doc in enumerate(kept):
        doc["seq"] = i + 1
        if i:
            doc["prev"] = line_hash(out[-1])
        out.append(json.dumps(doc, separators=(",", ":")).encode())
    f.write_bytes(b"".join(line + b"\n" for line in out))


def test_a_log_rewritten_below_the_last_seal_is_never_signed_over(
    core: Agent, paths: Paths
) -> None:
    w = make(core, paths, Clocks())
    for n in range(6):
        w.record("request", request(n))
    w.flush(final=True)  # sealed: the keyring keeps that checkpoint's seq and hash
    _forge_without_the_key(paths)
    assert verify_path(paths.audit_dir, trusted_keys(paths.audit_dir)).ok  # files alone: OK
    again = make(core, paths, Clocks())  # the next agent start, same keyring
    result = again.verify_now()
    assert (
        result["ok"] is False
        and "the last checkpoint this installation signed" in result["problem"]
    )
    again.record("request", request(99))
    again.flush(final=True)
    after = [e["event"] for e in lines(paths)][-3:]
    assert "audit.verify_failed" in after and "request" in after  # recorded, and the log goes on
    assert "audit.checkpoint" not in after  # but nothing is signed over the rewritten chain
    assert verify_path(paths.audit_dir, trusted_keys(paths.audit_dir)).warnings != []


def test_a_process_holding_the_logs_lock_makes_a_required_log_fail_closed(
    core: Agent, paths: Paths
) -> None:
    import subprocess
    import sys
    import time

    w = make(core, paths, Clocks())
    w.flush()
    w.required = True
    lock = paths.audit_dir / ".audit.jsonl.lock"
    holder = subprocess.Popen(  # holds the lock and keeps rewriting it (a "moving queue")
        [sys.executable, "-c", (
            "import fcntl, sys, time\n"
            f"f = open({str(lock)!r}, 'r+')\n"
            "fcntl.flock(f, fcntl.LOCK_EX)\n"
            "print('held', flush=True)\n"
            "n = 0\n"
            "while True:\n"
            "    n += 1; f.seek(0); f.write(f'{n} x'.ljust(40)); f.flush(); time.sleep(0.1)\n"
        )],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        w.record("request", request(1))
        began = time.monotonic()
        w.flush()
        assert time.monotonic() - began < 15  # bounded, not forever
        status = w.status()
        assert status["ok"] is False and status["blocking"] is True
        assert "locked" in status["error"]
    finally:
        holder.kill()
        holder.wait(10)
    w.flush()
    assert w.status()["ok"] is True and w.status()["blocking"] is False
    assert any(e.get("request_id") == "r1" for e in lines(paths))  # kept, then written


def test_keys_the_installation_did_not_make_are_not_trusted_by_the_agent(
    core: Agent, paths: Paths
) -> None:
    from tray_agent.audit.keys import load_signer
    from tray_agent.audit.log import AuditLog

    w = make(core, paths, Clocks())
    w.record("request", request(1))
    w.flush(final=True)
    for f in paths.audit_dir.glob("audit-*.jsonl"):
        f.unlink()  # the log replaced by one signed with a key of the attacker's own
    stranger = load_signer(MemoryStore(), paths.audit_dir)
    AuditLog(paths.audit_dir, stranger).append([("request", request(7))], seal=True)
    assert verify_path(paths.audit_dir, trusted_keys(paths.audit_dir)).ok  # beside the log
    result = make(core, paths, Clocks()).verify_now()
    assert result["ok"] is False and "not a trusted audit key" in result["problem"]
