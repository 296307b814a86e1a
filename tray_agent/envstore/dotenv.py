"""Read and write ``.env`` files.

Accepted: ``NAME=value``, an ``export`` prefix, blank lines and ``#`` comments, single quotes
(literal), double quotes (escapes ``\\n \\r \\t \\" \\\\ \\$``; may span lines), and an
unquoted value ending at a `` #`` comment. No ``${VAR}`` expansion: values are taken as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tray_agent.envstore.names import name_problem
from tray_agent.envstore.values import value_problem

_ASSIGN = re.compile(r"\s*(?:export\s+)?([^=\s]*)\s*=\s*", re.ASCII)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\", "$": "$"}
_PLAIN = re.compile(r"[A-Za-z0-9_./:@+,%=~-]*")


@dataclass(frozen=True)
class DotenvEntry:
    name: str
    value: str
    line: int


@dataclass(frozen=True)
class Skipped:
    line: int
    name: str | None
    reason: str

    def format(self, file: str | None = None) -> str:
        """``FILE:LINE: NAME: reason`` (``line LINE ...`` without a file)."""
        if file is not None:
            where = f"{file}:{self.line}: "
        else:
            where = f"line {self.line} " if self.name else f"line {self.line}: "
        who = f"{self.name}: " if self.name else ""
        return f"{where}{who}{self.reason}"


@dataclass
class DotenvResult:
    entries: list[DotenvEntry]
    skipped: list[Skipped]


class _SyntaxError(Exception):
    pass


def _double_quoted(text: str, start: int) -> tuple[str, int]:
    """Value of a double-quoted string starting after the quote; returns (value, end index)."""
    out: list[str] = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    raise _SyntaxError("unterminated double-quoted value")


def _single_quoted(text: str, start: int) -> tuple[str, int]:
    end = text.find("'", start)
    if end < 0:
        raise _SyntaxError("unterminated single-quoted value")
    return text[start:end], end + 1


def _after_value(text: str, pos: int) -> int:
    """Skip trailing blanks and a comment up to the end of the line; return the next line start."""
    eol = text.find("\n", pos)
    eol = len(text) if eol < 0 else eol
    rest = text[pos:eol].strip()
    if rest and not rest.startswith("#"):
        raise _SyntaxError(f"unexpected text after the closing quote: {rest[:20]!r}")
    return eol + 1


def parse_dotenv(text: str) -> DotenvResult:
    """Entries in file order (a later duplicate replaces the earlier one) and what was skipped."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    entries: dict[str, DotenvEntry] = {}
    skipped: list[Skipped] = []
    pos = 0
    # Line numbers counted incrementally: counting from the start each time was quadratic.
    line_no, counted_to = 1, 0
    while pos < len(text):
        line_no += text.count("\n", counted_to, pos)
        counted_to = pos
        eol = text.find("\n", pos)
        eol = len(text) if eol < 0 else eol
        line = text[pos:eol]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            pos = eol + 1
            continue
        match = _ASSIGN.match(line)
        if match is None:
            skipped.append(Skipped(line_no, None, "syntax error: expected NAME=VALUE"))
            pos = eol + 1
            continue
        name = match.group(1)
        value_start = pos + match.end()
        try:
            if value_start < len(text) and text[value_start] == '"':
                value, end = _double_quoted(text, value_start + 1)
                next_pos = _after_value(text, end)
            elif value_start < len(text) and text[value_start] == "'":
                value, end = _single_quoted(text, value_start + 1)
                next_pos = _after_value(text, end)
            else:
                raw = text[value_start:eol]
                value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
                next_pos = eol + 1
        except _SyntaxError as exc:
            skipped.append(Skipped(line_no, name or None, f"syntax error: {exc}"))
            pos = eol + 1
            continue
        pos = next_pos
        problem = name_problem(name) if name else "syntax error: missing name before '='"
        problem = problem or value_problem(name, value)
        if problem:
            skipped.append(Skipped(line_no, name or None, problem))
            continue
        if name in entries:
            earlier = entries.pop(name)
            skipped.append(Skipped(earlier.line, name, f"set again on line {line_no}"))
        entries[name] = DotenvEntry(name, value, line_no)
    return DotenvResult(list(entries.values()), skipped)


def quote(value: str) -> str:
    """``value`` as it must be written after ``NAME=`` to read back unchanged."""
    if _PLAIN.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def format_line(name: str, value: str) -> str:
    return f"{name}={quote(value)}"
