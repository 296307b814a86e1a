"""``audit export`` on a real log: every line in each format, the export verifies offline
(also as the real CLI in a child process), tampering with an exported record is located,
``--since/--until`` select a contiguous range, a broken log is refused and nothing written."""

from __future__ import annotations

import argparse
import base64
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.audit.logmaker import DAY, START, Log, make_log
from tray_agent.audit.chain import decode
from tray_agent.audit.export import ExportRefused, export_log, parse_when
from tray_agent.audit.log import lines_of, log_files
from tray_agent.audit.verify import verify_path
from tray_agent.commands import audit as audit_cmd
from tray_agent.commands.context import CliContext, UserError
from tray_agent.paths import Paths

FORMATS = ("jsonl", "ocsf", "cef")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def log(paths: Paths) -> Log:
    return make_log(paths.audit_dir)


def carried(path: Path, fmt: str) -> list[bytes]:
    """The audit lines an export's records carry (read the plain way, not with our code)."""
    out = []
    for text in path.read_text(encoding="utf-8").splitlines()[1:]:
        if fmt == "jsonl":
            out.append(text.encode())
        elif fmt == "ocsf":
            out.append(json.loads(text)["raw_data"].encode())
        else:
            out.append(base64.b64decode(text.rsplit(" cs6=", 1)[1].replace("\\=", "=")))
    return out


def cli(paths: Paths, log: Log, *argv: str) -> tuple[int, str, str]:
    """The audit command in-process, with the log's keyring (a memory store)."""
    parser = argparse.ArgumentParser(prog="litellm-bridge")
    audit_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", *argv])
    out, err = io.StringIO(), io.StringIO()
    ctx = CliContext(paths=paths, out=out, err=err)
    ctx.__dict__["secrets"] = log.store
    try:
        code = int(args.func(args, ctx) or 0)
    except UserError as exc:
        err.write(f"error: {exc}\n" + (f"hint: {exc.hint}\n" if exc.hint else ""))
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def verify_child(home: Path, target: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tray_agent", "audit", "verify", str(target), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={
            "LITELLM_BRIDGE_HOME": str(home),
            "PATH": "/usr/bin:/bin",
            "LITELLM_BRIDGE_SECRET_STORE": "memory",
        },
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_line_is_exported_and_the_export_verifies_offline(
    fmt: str, log: Log, paths: Paths, home: Path, tmp_path: Path
) -> None:
    assert len(log_files(log.dir)) > 3  # rotation: the export spans files
    before = log.lines()
    target = tmp_path / f"export.{fmt}"
    code, out, err = cli(paths, log, "export", "--format", fmt, "-o", str(target))
    assert code == 0, err
    assert carried(target, fmt) == before  # every line, in order, byte for byte
    events = sum(1 for raw in before if decode(raw)["event"] != "audit.checkpoint")
    assert f"exported {events} events" in out
    report = verify_path(target, log.keys)
    assert report.ok, report.problem
    assert (report.first_seq, report.last_seq) == (1, len(before))
    assert report.events == events and report.warnings == []
    child = verify_child(home, target)  # the real CLI, keys beside the log
    assert child.returncode == 0, child.stdout + child.stderr
    assert json.loads(child.stdout)["export"]["count"] == len(before)
    noted = [decode(raw) for raw in log.lines()[len(before) :]]
    assert [n["event"] for n in noted] == ["audit.exported"]
    assert noted[0]["format"] == fmt and noted[0]["events"] == events
    assert (noted[0]["first_seq"], noted[0]["last_seq"]) == (1, len(before))


def records(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _edit_first_field(fmt: str, text: str) -> str:
    """Change what a SIEM would read, leaving the carried audit line alone."""
    if fmt == "ocsf":
        event = json.loads(text)
        event["actor"]["user"]["uid"] = "E99999"
        return json.dumps(event, separators=(",", ":"))
    return text.replace("suser=E10442", "suser=E99999")


TAMPERS = ("edited", "removed", "inserted", "swapped", "cut_end", "appended", "mapped")


# A JSON Lines export has no mapped fields (its records are the lines): no "mapped" case.
CASES = [(f, h) for f in FORMATS for h in TAMPERS if (f, h) != ("jsonl", "mapped")]


@pytest.mark.parametrize(("fmt", "how"), CASES)
def test_a_tampered_export_is_located(fmt: str, how: str, log: Log, tmp_path: Path) -> None:
    target = tmp_path / f"export.{fmt}"
    export_log(log.dir, target, fmt, log.signer, log.keys)
    lines = records(target)
    at = 20  # a request record (line 20 of the file: seq 19)
    assert "request" in lines[at - 1]
    if how == "edited":
        if fmt == "jsonl":
            lines[at - 1] = lines[at - 1].replace('"tokens_in":', '"tokens_in":1')
        else:
            raw = carried(target, fmt)[at - 2]
            forged = raw.replace(b'"tokens_in":', b'"tokens_in":1')
            lines[at - 1] = _render(fmt, forged, target)
        want = ("edited", at)
    elif how == "removed":
        del lines[at - 1]
        want = ("missing", at)
    elif how == "inserted":
        lines.insert(at, lines[at - 1])
        want = ("inserted", at + 1)
    elif how == "swapped":
        lines[at - 1], lines[at] = lines[at], lines[at - 1]
        want = ("out_of_order", at)
    elif how == "cut_end":
        lines = lines[:-3]
        want = ("missing", len(lines))
    elif how == "appended":
        lines.append(lines[-1])
        want = ("inserted", len(lines))
    else:
        lines[at - 1] = _edit_first_field(fmt, lines[at - 1])
        want = ("edited", at)
    write(target, lines)
    report = verify_path(target, log.keys)
    assert report.problem is not None, "tampering went unnoticed"
    assert (report.problem.kind, report.problem.line) == want, report.problem
    assert report.problem.file == str(target)


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_record_added_without_its_newline_is_not_a_cut_off_line(
    fmt: str, log: Log, tmp_path: Path
) -> None:
    # Exports are written whole: a last line without a newline was added, not cut off.
    target = tmp_path / f"export.{fmt}"
    export_log(log.dir, target, fmt, log.signer, log.keys)
    with open(target, "ab") as fh:
        fh.write(b"CEF:0|forged|record" if fmt == "cef" else b'{"event": "env.removed"}')
    report = verify_path(target, log.keys)
    assert report.problem is not None and report.problem.kind == "inserted", report.problem


def _render(fmt: str, raw: bytes, target: Path) -> str:
    """The record a forger would write for an edited line (same renderer as the export)."""
    from tray_agent.audit import cef, ocsf
    from tray_agent.audit.export import open_export
    from tray_agent.audit.mapping import Context

    opened = open_export(target)
    assert opened is not None
    ctx = Context(opened.header["product_version"], opened.header["host"])
    return (ocsf if fmt == "ocsf" else cef).record_line(raw, ctx)


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_edited_or_foreign_header_is_refused(fmt: str, log: Log, tmp_path: Path) -> None:
    target = tmp_path / f"export.{fmt}"
    export_log(log.dir, target, fmt, log.signer, log.keys)
    lines = records(target)
    head = lines[0]
    # Claim a shorter export (hiding the last lines): the header's signature breaks.
    if fmt == "cef":
        from tray_agent.audit.export import open_export

        opened = open_export(target)
        assert opened is not None
        header = dict(opened.header, last_seq=opened.header["last_seq"] - 1)
        blob = base64.b64encode(json.dumps(header).encode()).decode().replace("=", "\\=")
        lines[0] = head.rsplit(" cs6=", 1)[0] + " cs6=" + blob
    else:
        lines[0] = head.replace('"last_seq":', '"last_seq":1', 1)
    write(target, lines)
    report = verify_path(target, log.keys)
    assert report.problem is not None and report.problem.line == 1
    assert "export header" in report.problem.message
    write(target, [head, *lines[1:]])
    assert verify_path(target, log.keys).ok
    assert not verify_path(target, {}).ok  # an untrusted key proves nothing


def test_since_and_until_select_one_day(log: Log, paths: Paths, tmp_path: Path) -> None:
    day2 = [r for r in log.lines() if "2026-12-02T" in decode(r)["time"]]
    target = tmp_path / "day2.jsonl"
    code, _out, err = cli(paths, log, "export", "--since", "2026-12-02", "--until",
                          "2026-12-02", "--format", "jsonl", "-o", str(target))  # fmt: skip
    assert code == 0, err
    got = carried(target, "jsonl")
    assert got == day2 and got  # the whole day, nothing of the days around it
    report = verify_path(target, log.keys)
    assert report.ok, report.problem
    assert report.first_seq == decode(day2[0])["seq"] > 1  # anchored by the header
    # An ISO time: from the middle of day 3 to the end.
    iso = tmp_path / "tail.ocsf"
    since = START + 2 * DAY + 3600 + 60 * 3 + 30 * 20
    export_log(log.dir, iso, "ocsf", log.signer, log.keys, since=since)
    got = carried(iso, "ocsf")
    assert all(decode(r)["time"] >= "2026-12-03T01:13:00" for r in got) and len(got) > 5
    assert verify_path(iso, log.keys).ok


def test_parse_when_accepts_dates_and_iso_times_and_names_a_bad_one() -> None:
    assert parse_when("2026-12-01") == START
    assert parse_when("2026-12-01", end=True) == START + DAY
    assert parse_when("2026-12-01T01:00:00Z") == START + 3600
    assert parse_when("2026-12-01T02:00:00+01:00") == START + 3600
    with pytest.raises(ValueError, match="not a date or time"):
        parse_when("yesterday")


def test_a_range_with_no_lines_is_refused(log: Log, tmp_path: Path) -> None:
    with pytest.raises(ExportRefused, match="no audit lines"):
        export_log(log.dir, tmp_path / "x.cef", "cef", log.signer, log.keys,
                   since=START + 30 * DAY)  # fmt: skip
    assert not (tmp_path / "x.cef").exists()


def test_a_broken_log_is_refused_naming_the_line_and_nothing_is_written(
    log: Log, paths: Paths, tmp_path: Path
) -> None:
    victim = log_files(log.dir)[1]
    lines = [raw for _n, raw, _c in lines_of(victim)]
    lines[2] = lines[2].replace(b'"status":200', b'"status":201')
    victim.write_bytes(b"".join(line + b"\n" for line in lines))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "export.ocsf"
    target.write_text("an older export\n")
    code, _out, err = cli(paths, log, "export", "--format", "ocsf", "-o", str(target))
    assert code == 1
    assert "does not verify" in err and f"{victim}:3" in err, err
    assert target.read_text(encoding="utf-8") == "an older export\n"  # untouched
    assert [p.name for p in out_dir.iterdir()] == ["export.ocsf"]  # no temp file left


def test_an_unsealed_tail_is_exported_and_stated_in_the_header(log: Log, tmp_path: Path) -> None:
    log.log.append([("env.removed", {"name": "OLD"})])  # after the last checkpoint
    target = tmp_path / "export.jsonl"
    done = export_log(log.dir, target, "jsonl", log.signer, log.keys)
    assert any("not sealed yet" in w for w in done.warnings)
    header = json.loads(records(target)[0])
    assert any("not sealed yet" in w for w in header["warnings"])
    assert carried(target, "jsonl")[-1] == log.lines()[-1]
    assert verify_path(target, log.keys).ok  # the signed header seals the tail


def test_without_a_signing_key_the_export_says_what_to_do(paths: Paths, tmp_path: Path) -> None:
    made = make_log(paths.audit_dir, days=1, per_day=3)
    made.store.delete("audit-signing-key")
    code, _out, err = cli(paths, made, "export", "--format", "cef", "-o", str(tmp_path / "x"))
    assert code == 1 and "no audit signing key" in err and "litellm-bridge start" in err
