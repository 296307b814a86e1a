"""A problem found in a config file, positioned for editors (``FILE:LINE:COL``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]

EXCERPT_LEN = 24
_NAME_CHARS = re.compile(r"[A-Za-z0-9_.\-/ ]*")
_QUOTED = re.compile(r"'([^']*)'")


def excerpt(value: object, limit: int = EXCERPT_LEN) -> str:
    """A short, redacted form of text taken from a file, safe to put in a message.

    The file may not be a config at all (a symlink to a password file, a key): quote only
    its leading name-like characters, at most ``limit`` of them, and mask anything that
    looks like a secret.
    """
    from tray_agent.logs.redact import REDACTOR

    text = str(value)
    lead = _NAME_CHARS.match(text)
    shown = lead.group(0) if lead else ""
    cut = len(shown) < len(text) or len(shown) > limit
    shown = REDACTOR.redact(shown[:limit])
    return shown + "…" if cut else shown


def excerpt_quoted(message: str) -> str:
    """``message`` with every '...' part shortened by ``excerpt`` (parser messages quote input)."""
    return _QUOTED.sub(lambda m: "'" + excerpt(m.group(1)) + "'", message)


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in the config or env file; ``line``/``column`` are None for a whole file."""

    file: str
    line: int | None
    column: int | None
    message: str
    hint: str | None = None
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    @property
    def location(self) -> str:
        """``FILE``, ``FILE:LINE`` or ``FILE:LINE:COL``, as editors jump to them."""
        loc = self.file
        if self.line is not None:
            loc += f":{self.line}"
            if self.column is not None:
                loc += f":{self.column}"
        return loc

    def format(self) -> str:
        """``FILE:LINE:COL: severity: message`` and, when there is one, an indented hint line."""
        text = f"{self.location}: {self.severity}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    def as_dict(self) -> dict[str, Any]:
        """The issue as status and doctor report it (JSON)."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity,
        }

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class ConfigInvalid(Exception):
    """The config has errors; ``issues`` says which and where."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        errors = [i for i in issues if i.is_error]
        first = errors[0].format() if errors else "invalid config"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)

    def summary(self) -> str:
        """One line for a status field: the first three errors, ``; ``-separated."""
        errors = [i for i in self.issues if i.is_error] or self.issues
        return "; ".join(str(i) for i in errors[:3])
