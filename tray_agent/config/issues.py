"""A problem found in a config file, positioned for editors (``FILE:LINE:COL``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ConfigIssue:
    file: str
    line: int
    column: int
    message: str
    hint: str | None = None
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def format(self) -> str:
        """``FILE:LINE:COL: severity: message`` and, when there is one, an indented hint line."""
        text = f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class ConfigInvalid(Exception):
    """The config has errors; ``issues`` says which and where."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        errors = [i for i in issues if i.is_error]
        first = errors[0].format() if errors else "invalid config"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more)
