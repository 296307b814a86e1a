"""Export the audit log (or a time range of it) as JSON Lines, OCSF 1.6 or CEF, verifiably.

An export is made only from a log that verifies (``ExportRefused`` names the bad line;
warnings such as an unsealed tail are carried in the header). Its lines are one contiguous
run of the log: from the first line at or after ``since`` to the last line before ``until``
(lines in between are kept even when a clock step put them outside the range: the chain
must not break), checkpoints included.

The first line of the file is a header signed with the installation key (``keys.py``,
its own domain): format, ``first_seq`` and the ``prev`` of that line, ``last_seq`` and the
head hash, the count, the range, the time, the host and version the records name, and the
key id. Every record carries its audit line unchanged (JSON Lines: the line itself; OCSF:
``raw_data``; CEF: ``cs6`` in base64). So ``verify_export`` checks offline that the records
chain from the header's ``prev`` to its head, that each checkpoint in them holds, and that
each record is exactly what its audit line renders to (an edited mapped field is found too).

The file is written to a temporary file beside it and renamed: never half written.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tray_agent.audit import cef, ocsf
from tray_agent.audit.chain import CHECKPOINT, MAX_LINE_BYTES, decode, line_hash, parse_stamp
from tray_agent.audit.chain import stamp as make_stamp
from tray_agent.audit.keys import Signer, check_export
from tray_agent.audit.log import lines_of, log_files
from tray_agent.audit.mapping import Context
from tray_agent.audit.verify import Line, Problem, Report, verify_lines
from tray_agent.fsutil import WriteError, remove_stale_temps, write_problem
from tray_agent.platform import files as platform_files

FORMATS = ("jsonl", "ocsf", "cef")
MARK = "litellm_bridge_audit_export"  # the JSON Lines header's key; its value: the version
Progress = Callable[[float, str], None]  # (0..1 done, what is happening)


class Format(Protocol):
    """What each format module offers (``ocsf``, ``cef``, and JSON Lines here)."""

    def header_line(self, header: dict[str, Any], ctx: Context, /) -> str: ...
    def read_header(self, text: str, /) -> dict[str, Any] | None: ...
    def record_line(self, line: bytes, ctx: Context, /) -> str: ...
    def raw_of(self, text: str, /) -> bytes: ...


class ExportRefused(Exception):
    """Why no export was written (the message says where and what to do)."""


class _Jsonl:
    """JSON Lines: the header object, then the audit lines exactly as in the log."""

    @staticmethod
    def header_line(header: dict[str, Any], _ctx: Context) -> str:
        return json.dumps({MARK: 1, **header}, separators=(",", ":"), ensure_ascii=True)

    @staticmethod
    def read_header(text: str) -> dict[str, Any] | None:
        try:
            value = json.loads(text)
        except ValueError:
            return None
        if not isinstance(value, dict) or value.get(MARK) != 1:
            return None
        return {k: v for k, v in value.items() if k != MARK}

    @staticmethod
    def record_line(line: bytes, _ctx: Context) -> str:
        decode(line)  # a line that is not an audit line is not exported as one
        return line.decode("ascii")

    @staticmethod
    def raw_of(text: str) -> bytes:
        return text.encode("ascii")


WRITERS: dict[str, Format] = {"jsonl": _Jsonl, "ocsf": ocsf, "cef": cef}


def parse_when(text: str, end: bool = False) -> float:
    """Epoch seconds of ``--since``/``--until``: ISO 8601 (naive: UTC) or a date, which
    means the start of that UTC day, or for ``end`` the end of it (the whole day counts)."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return (day + timedelta(days=1) if end else day).timestamp()
        return parse_stamp(value)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date or time: use 2026-12-01 or 2026-12-01T08:30:00Z"
        ) from None


@dataclass
class Selection:
    """The contiguous run of log lines to export, found while the log is verified."""

    since: float | None
    until: float | None
    first_seq: int | None = None
    prev: str | None = None
    last_seq: int | None = None
    head: str | None = None

    def see(self, raw: bytes) -> None:
        try:
            rec = decode(raw)
            when = parse_stamp(str(rec["time"]))
        except (ValueError, UnicodeDecodeError):
            return  # verify names it and the export is refused
        if self.since is not None and when < self.since:
            return
        if self.until is not None and when >= self.until:
            return
        if self.first_seq is None:
            self.first_seq, self.prev = int(rec["seq"]), str(rec["prev"])
        self.last_seq, self.head = int(rec["seq"]), line_hash(raw)


@dataclass
class Exported:
    path: Path
    format: str
    events: int  # records that are not checkpoints
    checkpoints: int
    first_seq: int
    last_seq: int
    warnings: list[str] = field(default_factory=list)


def export_log(
    audit_dir: Path,
    target: Path,
    fmt: str,
    signer: Signer,
    keys: dict[str, Ed25519PublicKey],
    *,
    since: float | None = None,
    until: float | None = None,
    progress: Progress | None = None,
    version: str | None = None,
    sealed: tuple[int, str] | None = None,
) -> Exported:
    """Verify the log, then write the selected lines to ``target`` in ``fmt``.

    ``sealed``: (seq, hash) of the last checkpoint this installation signed; the log must
    still run from it, else nothing is signed (a log cut back or rewritten since)."""
    if fmt not in WRITERS:
        raise ExportRefused(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    tell = progress or (lambda _share, _what: None)
    paths = log_files(audit_dir)
    if not paths:
        raise ExportRefused(f"there is no audit log in {audit_dir} yet: nothing to export")
    sel = Selection(since, until)
    report = verify_lines(_tapped(paths, sel, tell), keys, Report(files=[str(p) for p in paths]))
    if report.problem is not None:
        raise ExportRefused(
            f"the audit log does not verify: {report.problem} "
            "(litellm-bridge audit verify shows it)"
        )
    if sel.first_seq is None or sel.last_seq is None:
        raise ExportRefused("no audit lines in that time range: widen --since/--until")
    if sealed is not None:
        from tray_agent.audit.log import chain_problem

        broken = chain_problem(audit_dir, *sealed)
        if broken is not None:
            raise ExportRefused(f"the audit log does not verify: {broken}")
    if version is None:
        from tray_agent import __version__ as version
    ctx = Context(product_version=str(version), host=socket.gethostname() or "localhost")
    header: dict[str, Any] = {
        "format": fmt,
        "first_seq": sel.first_seq,
        "prev": sel.prev,
        "last_seq": sel.last_seq,
        "head": sel.head,
        "count": sel.last_seq - sel.first_seq + 1,
        "since": None if since is None else make_stamp(since),
        "until": None if until is None else make_stamp(until),
        "time": make_stamp(),
        "key": signer.key_id,
        "host": ctx.host,
        "product_version": ctx.product_version,
    }
    header["sig"] = signer.sign_export(header)
    header["warnings"] = list(report.warnings)  # informational: not signed
    writer = WRITERS[fmt]
    counts = [0, 0]  # events, checkpoints

    def lines() -> Iterator[str]:
        yield writer.header_line(header, ctx)
        for raw in _run(paths, sel):
            counts[1 if decode(raw)["event"] == CHECKPOINT else 0] += 1
            tell(0.5 + 0.5 * (sum(counts) / header["count"]), "writing")
            yield writer.record_line(raw, ctx)

    _write_atomically(target, lines())
    tell(1.0, "done")
    return Exported(target, fmt, counts[0], counts[1], sel.first_seq, sel.last_seq,
                    header["warnings"])  # fmt: skip


def _tapped(paths: list[Path], sel: Selection, tell: Progress) -> Iterator[Line]:
    """The log's lines for ``verify_lines``, each seen by the selection on its way."""
    total = sum(_size(p) for p in paths) or 1
    done = 0
    for path in paths:
        for number, raw, complete in lines_of(path):
            done += len(raw) + 1
            if number % 1000 == 0:
                tell(0.5 * min(1.0, done / total), "verifying")
            if complete:
                sel.see(raw)
            yield str(path), number, raw, complete


def _run(paths: list[Path], sel: Selection) -> Iterator[bytes]:
    """The selected lines again; the log may have grown since, but not changed."""
    assert sel.first_seq is not None and sel.last_seq is not None
    expected, prev = sel.first_seq, sel.prev
    for path in paths:
        for _number, raw, complete in lines_of(path):
            if not complete:
                continue
            seq = int(decode(raw)["seq"])
            if seq < expected:
                continue
            if seq != expected or decode(raw)["prev"] != prev:
                raise ExportRefused(
                    f"the audit log changed while it was exported ({path}, seq {seq}): try again"
                )
            yield raw
            expected, prev = seq + 1, line_hash(raw)
            if seq == sel.last_seq:
                if prev != sel.head:
                    raise ExportRefused("the audit log changed while it was exported: try again")
                return
    raise ExportRefused("lines of the audit log went away while it was exported: try again")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _write_atomically(target: Path, lines: Iterator[str]) -> None:
    """Write ``lines`` to a temporary file beside ``target``, then rename it over."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(target)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise WriteError(exc.errno, write_problem(exc, target), str(target)) from exc
    try:
        platform_files.set_mode(fd, 0o600)  # identifiers of people: not for everyone
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            for text in lines:
                fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise WriteError(exc.errno, write_problem(exc, target), str(target)) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    platform_files.fsync_dir(target.parent)


# -- reading an export back ------------------------------------------------------------------
@dataclass(frozen=True)
class OpenedExport:
    path: Path
    header: dict[str, Any]
    reader: Format


def open_export(path: Path) -> OpenedExport | None:
    """The export whose header is ``path``'s first line (None: not an export)."""
    try:
        with open(path, "rb") as fh:
            first = fh.readline(4 * MAX_LINE_BYTES).rstrip(b"\r\n").decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for reader in WRITERS.values():
        header = reader.read_header(first)
        if header is not None and header.get("format") in WRITERS:
            return OpenedExport(path, header, WRITERS[str(header["format"])])
    return None


def verify_export(opened: OpenedExport, keys: dict[str, Ed25519PublicKey]) -> Report:
    """Check an export: its header's signature, then its records as a chain from the
    header's ``prev`` to its head, each record exactly as its audit line renders."""
    name, header = str(opened.path), opened.header
    rep = Report(files=[name], export=header)
    why = check_export(keys, header)
    if (
        why is None
        and header.get("count") != _int(header.get("last_seq")) - _int(header.get("first_seq")) + 1
    ):
        why = "its count does not match its range"
    if why is not None:
        rep.problem = Problem("bad_checkpoint", name, 1, None, f"the export header: {why}")
        return rep
    first, last = int(header["first_seq"]), int(header["last_seq"])
    ctx = Context(str(header["product_version"]), str(header["host"]))
    found: list[Problem] = []  # a problem verify_lines cannot see (it gets only lines)
    end = [1]  # the last line number read

    def lines() -> Iterator[Line]:
        for number, raw, complete in lines_of(opened.path):
            end[0] = number
            if number == 1:
                continue
            text = raw.decode("utf-8", "replace")
            if not complete:  # written atomically: a cut-off record was added afterwards
                msg = "a record without its newline: exports are written whole, it was added"
                found.append(Problem("inserted", name, number, None, msg))
                return
            try:
                line = opened.reader.raw_of(text)
                rendered = opened.reader.record_line(line, ctx)
            except (ValueError, UnicodeDecodeError) as exc:
                yield name, number, f"not an exported record ({exc})".encode(), complete
                return
            seq = int(decode(line)["seq"])
            if rendered != text:
                msg = "this record was changed: it differs from the audit line it carries"
                found.append(Problem("edited", name, number, seq, msg))
                return
            if seq > last:
                msg = f"a record after seq {last}, where the export ends: it was added"
                found.append(Problem("inserted", name, number, seq, msg))
                return
            yield name, number, line, complete

    verify_lines(lines(), keys, rep, anchor=(first - 1, str(header["prev"])))
    if rep.problem is None and found:
        rep.problem = found[0]
    if rep.problem is None and (rep.last_seq or first - 1) < last:
        gap = f"seq {(rep.last_seq or first - 1) + 1}-{last} missing: records were removed"
        rep.problem = Problem("missing", name, end[0], rep.last_seq, gap)
    elif rep.problem is None and rep.head != header["head"]:
        msg = "the last record was changed: it does not hash to the export's head"
        rep.problem = Problem("edited", name, end[0], rep.last_seq, msg)
    # The signed header seals every record: none is an unsealed tail.
    rep.warnings = [w for w in rep.warnings if "not sealed yet" not in w]
    rep.unsealed = 0
    return rep


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -(10**18)
