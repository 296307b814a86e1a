"""The audit log on real files: chain, checkpoints, rotation, retention, concurrent writers,
and ``verify`` locating every kind of tampering."""

from __future__ import annotations

import base64
import json
import multiprocessing
from pathlib import Path

import pytest

from tray_agent.audit.chain import line_hash
from tray_agent.audit.keys import load_signer, trusted_keys
from tray_agent.audit.log import AuditLog, log_files
from tray_agent.audit.verify import verify_path
from tray_agent.secrets import MemoryStore


def make_log(tmp_path: Path, **kw: object) -> tuple[AuditLog, Path]:
    audit = tmp_path / "audit"
    return AuditLog(audit, load_signer(MemoryStore(), audit), **kw), audit  # type: ignore[arg-type]


def fill(log: AuditLog, n: int, seal_every: int = 0) -> None:
    for i in range(n):
        seal = bool(seal_every) and (i + 1) % seal_every == 0
        log.append([("request", {"n": i, "route": "/v1/chat/completions"})], seal=seal)


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def rewrite(path: Path, new: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in new))


def check(audit: Path):  # type: ignore[no-untyped-def]
    return verify_path(audit, trusted_keys(audit))


def test_an_untouched_log_verifies_with_counts_and_an_unsealed_tail(tmp_path: Path) -> None:
    log, audit = make_log(tmp_path)
    fill(log, 10, seal_every=4)
    report = check(audit)
    assert report.ok, report.problem
    assert (report.events, report.checkpoints) == (10, 3)  # the file's first line and 2 seals
    assert report.last_seq == 13 and report.sealed_seq == 11 and report.unsealed == 2
    assert any("not sealed yet" in w for w in report.warnings)
    log.append([], seal=True)
    sealed = check(audit)
    assert sealed.ok and sealed.unsealed == 0 and not sealed.warnings
    # Every line is one JSON object with seq, time, event and prev = hash of the line before.
    raw = lines(log_files(audit)[0])
    docs = [json.loads(r) for r in raw]
    assert [d["seq"] for d in docs] == list(range(1, len(raw) + 1))
    assert all(docs[i]["prev"] == line_hash(raw[i - 1]) for i in range(1, len(raw)))


@pytest.mark.parametrize(
    ("tamper", "kind", "bad_seq"),
    [
        ("edit", "edited", 4),
        ("delete", "missing", 6),  # reported where the gap shows: "seq 5 missing"
        ("insert", "inserted", 4),
        ("swap", "out_of_order", 6),  # seq 6 found where 5 belongs
        ("forge_checkpoint", "bad_checkpoint", 6),
        ("rechain", "bad_checkpoint", 6),
        ("garbage", "malformed", None),
    ],
)
def test_verify_names_the_first_bad_line(
    tmp_path: Path, tamper: str, kind: str, bad_seq: int | None
) -> None:
    log, audit = make_log(tmp_path)
    fill(log, 8, seal_every=4)  # seq 1 checkpoint, 2-5 events, 6 checkpoint, 7-10, 11
    path = log_files(audit)[0]
    raw = lines(path)
    if tamper == "edit":
        raw[3] = raw[3].replace(b'"n":2', b'"n":9')
    elif tamper == "delete":
        del raw[4]
    elif tamper == "insert":
        raw.insert(4, raw[3])
    elif tamper == "swap":
        raw[4], raw[5] = raw[5], raw[4]
    elif tamper == "forge_checkpoint":
        doc = json.loads(raw[5])
        doc["sig"] = base64.b64encode(b"\0" * 64).decode()
        raw[5] = json.dumps(doc, separators=(",", ":")).encode()
    elif tamper == "rechain":
        # Edit a line and recompute every later prev: only the signed checkpoint can tell.
        raw[2] = raw[2].replace(b'"n":1', b'"n":7')
        for i in range(3, len(raw)):
            doc = json.loads(raw[i])
            doc["prev"] = line_hash(raw[i - 1])
            raw[i] = json.dumps(doc, separators=(",", ":")).encode()
    elif tamper == "garbage":
        raw[6] = b"not json at all"
    rewrite(path, raw)
    report = check(audit)
    assert not report.ok
    assert report.problem is not None and report.problem.kind == kind, report.problem
    assert report.problem.seq == bad_seq
    assert report.problem.file == str(path) and report.problem.line >= 1


def test_a_line_cut_off_by_a_crash_is_a_warning_and_the_next_append_replaces_it(
    tmp_path: Path,
) -> None:
    log, audit = make_log(tmp_path)
    fill(log, 3)
    path = log_files(audit)[0]
    with open(path, "ab") as fh:
        fh.write(b'{"seq":5,"time":"2026-')  # a write the power cut stopped
    report = check(audit)
    assert report.ok and any("incomplete" in w for w in report.warnings)
    fill(log, 1)
    again = check(audit)
    assert again.ok and again.last_seq == 5 and not any("incomplete" in w for w in again.warnings)


def test_rotation_by_size_starts_each_file_with_a_checkpoint(tmp_path: Path) -> None:
    log, audit = make_log(tmp_path, max_file_bytes=2000)
    fill(log, 40)
    files = log_files(audit)
    assert len(files) > 3
    for f in files:
        assert json.loads(lines(f)[0])["event"] == "audit.checkpoint"
    assert check(audit).ok and check(audit).events == 40


def test_retention_removes_whole_old_files_and_what_remains_verifies(tmp_path: Path) -> None:
    log, audit = make_log(tmp_path, max_file_bytes=2000)
    fill(log, 40)
    before = log_files(audit)
    removed = log.prune(retention_days=90, max_total_bytes=5000)
    after = log_files(audit)
    assert removed and len(after) == len(before) - len(removed) and after[-1] == before[-1]
    assert sum(f.stat().st_size for f in after) <= 5000 + after[-1].stat().st_size
    report = check(audit)
    assert report.ok, report.problem
    assert report.first_seq is not None and report.first_seq > 1
    # Removing a file from the middle by hand is a gap, not retention.
    if len(after) >= 3:
        after[1].unlink()
        assert check(audit).problem.kind == "missing"  # type: ignore[union-attr]


def test_a_checkpoint_signed_by_an_unknown_key_is_refused_and_a_replaced_key_still_verifies(
    tmp_path: Path,
) -> None:
    audit = tmp_path / "audit"
    store = MemoryStore()
    first = AuditLog(audit, load_signer(store, audit))
    fill(first, 3, seal_every=3)
    store.set("audit-signing-key", "")  # the keyring lost the key: a new one is made
    second = AuditLog(audit, load_signer(store, audit))
    fill(second, 3, seal_every=3)
    report = check(audit)
    assert report.ok and len(report.keys) == 2
    # Trusting only the second key: the first key's checkpoints are not accepted.
    newest = second.signer.key_id if second.signer else ""
    only = {k: v for k, v in trusted_keys(audit).items() if k == newest}
    refused = verify_path(audit, only)
    assert refused.problem is not None and refused.problem.kind == "bad_checkpoint"
    assert "not a trusted audit key" in refused.problem.message


def _writer(audit: str, key: str, worker: int, count: int) -> None:
    store = MemoryStore()
    store.set("audit-signing-key", key)
    log = AuditLog(Path(audit), load_signer(store, Path(audit), create=False))
    for i in range(count):
        log.append([("env.added", {"worker": worker, "i": i})], seal=(i % 10 == 9))


def test_concurrent_writers_keep_one_unbroken_chain(tmp_path: Path) -> None:
    # The agent and any number of commands append at once (the file lock orders them).
    audit = tmp_path / "audit"
    store = MemoryStore()
    load_signer(store, audit)
    key = store.get("audit-signing-key") or ""
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(audit), key, w, 30)) for w in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    report = check(audit)
    assert report.ok, report.problem
    assert report.events == 180


def test_control_characters_never_reach_a_line() -> None:
    from tray_agent.audit.records import clean

    assert clean("gpt\x0b\x1b[2J\u0085\u2028X|y\r\n") == "gpt??[2J??X|y??"
