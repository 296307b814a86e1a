"""Check an audit log (a directory, one file, or an export) and locate the first bad line.

An export (``export.py``) is recognised by its first line, a signed header; its records are
checked as a chain that starts from the header's ``prev`` and must end at its head.

Walks every line in order across files: each must be a well-formed audit line, carry the
next ``seq`` and the hash of the line before it; each checkpoint must sign exactly the lines
before it with a trusted key. The first line of what is checked must be ``seq`` 1 or a
checkpoint (older files removed by retention: the checkpoint anchors the rest).

What each problem means (``kind``):
- ``edited``: a line differs from what the next line's ``prev`` was made from;
- ``missing``: ``seq`` jumps (lines removed);
- ``inserted``: a ``seq`` repeats (a line added);
- ``out_of_order``: ``seq`` goes back (lines swapped or moved);
- ``malformed``: not an audit line at all;
- ``bad_checkpoint``: a checkpoint's signature or count does not hold (lines before it
  changed and the chain recomputed, or a forged checkpoint);
- ``unanchored``: the first line is neither ``seq`` 1 nor a checkpoint;
- ``newer_format``: a checkpoint states a format newer than this version reads (a newer
  version wrote the lines after it; that version verifies them).
Lines after the last checkpoint are an unsealed tail (a warning: written since, or cut off
by a crash), and so is a last line without its newline -- not tampering.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tray_agent import formats
from tray_agent.audit.chain import CHECKPOINT, GENESIS, decode, line_hash
from tray_agent.audit.keys import check_signature
from tray_agent.audit.log import lines_of, log_files

Kind = Literal[
    "edited",
    "missing",
    "inserted",
    "out_of_order",
    "malformed",
    "bad_checkpoint",
    "unanchored",
    "newer_format",
]


@dataclass(frozen=True)
class Problem:
    kind: Kind
    file: str
    line: int
    seq: int | None
    message: str

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}" + (f" (seq {self.seq})" if self.seq is not None else "")
        return f"{at}: {self.message}"


@dataclass
class Report:
    files: list[str] = field(default_factory=list)
    events: int = 0  # lines that are not checkpoints
    checkpoints: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    sealed_seq: int | None = None  # the last line a checkpoint covers
    unsealed: int = 0  # lines after the last checkpoint
    problem: Problem | None = None
    warnings: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # key ids that signed checkpoints
    head: str | None = None  # hash of the last line checked
    export: dict[str, Any] | None = None  # the header, when an export was checked

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": self.files,
            "events": self.events,
            "checkpoints": self.checkpoints,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "sealed_seq": self.sealed_seq,
            "unsealed": self.unsealed,
            "keys": self.keys,
            "problem": None
            if self.problem is None
            else {
                "kind": self.problem.kind,
                "file": self.problem.file,
                "line": self.problem.line,
                "seq": self.problem.seq,
                "message": self.problem.message,
            },
            "warnings": self.warnings,
            **({"export": self.export} if self.export is not None else {}),
        }


Line = tuple[str, int, bytes, bool]  # file, line number, bytes, ends with a newline


def _lines(files: Iterable[Path]) -> Iterator[Line]:
    for path in files:
        for number, raw, complete in lines_of(path):
            yield str(path), number, raw, complete


def verify_lines(
    lines: Iterable[Line],
    keys: dict[str, Ed25519PublicKey],
    report: Report | None = None,
    anchor: tuple[int, str] | None = None,
) -> Report:
    """Check ``lines`` (in order) against ``keys``; the first problem stops the walk.
    ``anchor`` (an export's signed header): the ``seq`` and hash of the line before the
    first one, which then need not be ``seq`` 1 or a checkpoint."""
    rep = report or Report()
    prev_hash: str | None = None if anchor is None else anchor[1]
    prev_seq: int | None = None if anchor is None else anchor[0]
    prev_where: tuple[str, int] | None = None
    pending: Line | None = None  # an incomplete line: fine only as the very last one
    walk = _Peekable(lines)
    for where_file, number, raw, complete in walk:
        if pending is not None:
            rep.problem = Problem(
                "malformed", pending[0], pending[1], None, "a line without its newline"
            )
            return rep
        if not complete:
            pending = (where_file, number, raw, complete)
            continue
        try:
            record = decode(raw)
        except (ValueError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            rep.problem = Problem(
                "malformed", where_file, number, None, f"not an audit line ({exc})"
            )
            return rep
        seq = int(record["seq"])
        problem = _link(record, seq, prev_hash, prev_seq, prev_where, where_file, number)
        if problem is not None and problem.kind == "missing" and prev_seq is not None:
            problem = _swap_or_gap(problem, walk, prev_seq + 1)
        if problem is not None:
            rep.problem = problem
            return rep
        if record["event"] == CHECKPOINT:
            # A checkpoint states the format of the lines after it (none: 1); what a newer
            # version wrote is not judged by this one's rules.
            try:
                formats.check_format(record, formats.AUDIT.name, where_file)
            except formats.FormatError as exc:
                rep.problem = Problem("newer_format", where_file, number, seq, str(exc))
                return rep
            why = _checkpoint_problem(record, seq, keys)
            if why is not None:
                rep.problem = Problem("bad_checkpoint", where_file, number, seq, why)
                return rep
            rep.checkpoints += 1
            rep.sealed_seq = seq
            if record.get("key") not in rep.keys:
                rep.keys.append(str(record.get("key")))
        else:
            rep.events += 1
        if rep.first_seq is None:
            rep.first_seq = seq
        rep.last_seq = seq
        prev_hash, prev_seq, prev_where = line_hash(raw), seq, (where_file, number)
        rep.head = prev_hash
    if pending is not None:
        rep.warnings.append(
            f"{pending[0]}:{pending[1]}: the last line is incomplete (cut off while it was "
            "being written); it is not part of the log"
        )
    if rep.last_seq is not None:
        rep.unsealed = rep.last_seq - (rep.sealed_seq or 0)
        if rep.unsealed:
            rep.warnings.append(
                f"{rep.unsealed} line(s) after the last checkpoint are not sealed yet "
                "(written since, or cut off by a crash before the next checkpoint)"
            )
    return rep


class _Peekable:
    """The lines, with a look at the next one (to tell a swap from a gap)."""

    def __init__(self, lines: Iterable[Line]) -> None:
        self._it = iter(lines)
        self._next: Line | None = None

    def __iter__(self) -> Iterator[Line]:
        return self

    def __next__(self) -> Line:
        if self._next is not None:
            line, self._next = self._next, None
            return line
        return next(self._it)

    def peek(self) -> Line | None:
        if self._next is None:
            self._next = next(self._it, None)
        return self._next


def _swap_or_gap(problem: Problem, walk: _Peekable, expected: int) -> Problem:
    """A jump in ``seq`` whose missing line comes right after is a swap, not a gap."""
    after = walk.peek()
    if after is None:
        return problem
    try:
        following = int(decode(after[2])["seq"])
    except (ValueError, UnicodeDecodeError):
        return problem
    if following != expected:
        return problem
    return Problem(
        "out_of_order",
        problem.file,
        problem.line,
        problem.seq,
        f"seq {problem.seq} comes before {expected}: lines were swapped or moved",
    )


def _link(
    record: dict[str, Any],
    seq: int,
    prev_hash: str | None,
    prev_seq: int | None,
    prev_where: tuple[str, int] | None,
    file: str,
    number: int,
) -> Problem | None:
    """Does this line follow the one before it (or, first, is it an anchor)?"""
    if prev_hash is None or prev_seq is None:
        if seq == 1 and record["prev"] != GENESIS:
            return Problem("edited", file, number, seq, "the first line does not start the chain")
        if seq != 1 and record["event"] != CHECKPOINT:
            return Problem(
                "unanchored",
                file,
                number,
                seq,
                "the first line is neither the start of the log nor a checkpoint: lines "
                "before it are missing",
            )
        return None
    if seq == prev_seq:
        return Problem("inserted", file, number, seq, f"seq {seq} appears twice: a line was added")
    if seq < prev_seq:
        return Problem(
            "out_of_order", file, number, seq, f"seq {seq} after {prev_seq}: lines were moved"
        )
    if seq > prev_seq + 1:
        gap = f"{prev_seq + 1}" + (f"-{seq - 1}" if seq - 1 > prev_seq + 1 else "")
        return Problem("missing", file, number, seq, f"seq {gap} missing: lines were removed")
    if record["prev"] != prev_hash:
        if prev_where is None:  # the first line after an export's header
            return Problem(
                "edited", file, number, seq, "this line does not continue from the export's header"
            )
        return Problem(
            "edited",
            prev_where[0],
            prev_where[1],
            prev_seq,
            "this line was changed: the next line's prev does not match it",
        )
    return None


def _checkpoint_problem(
    record: dict[str, Any], seq: int, keys: dict[str, Ed25519PublicKey]
) -> str | None:
    count, kid, sig = record.get("count"), record.get("key"), record.get("sig")
    if count != seq - 1:
        return f"the checkpoint counts {count!r} lines before it, not {seq - 1}"
    if not isinstance(kid, str) or not isinstance(sig, str):
        return "the checkpoint has no key or signature"
    why = check_signature(keys, seq - 1, str(record["prev"]), str(record["time"]), kid, sig)
    if why is None:
        return None
    return f"{why}: the lines before it were changed after it was signed, or it is forged"


def verify_path(path: Path, keys: dict[str, Ed25519PublicKey]) -> Report:
    """Verify a log directory (every file, in order), a single file or an export."""
    if not path.is_dir():
        from tray_agent.audit.export import open_export, verify_export

        opened = open_export(path)
        if opened is not None:
            return verify_export(opened, keys)
    files = log_files(path) if path.is_dir() else [path]
    rep = Report(files=[str(f) for f in files])
    return verify_lines(_lines(files), keys, rep)
