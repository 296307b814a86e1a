"""Where validation issues are collected, and how a path in the config becomes a position.

Every check appends to one ``IssueCollector``; with ``include:`` a path may lead into an
included file, whose issues are then reported at that file's line and column (``InFile``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tray_agent.config.includes import SourceMap
from tray_agent.config.issues import ConfigIssue, Severity
from tray_agent.config.locate import Parsed, Position, locate, locate_key


@dataclass(frozen=True)
class InFile(Position):
    """A position in a file other than the collector's own (an included file)."""

    file: str = ""


class IssueCollector:
    """The issues of one file (and of the files it includes, once ``sources`` is set)."""

    def __init__(self, file: str, parsed: Parsed | None = None) -> None:
        self.file = file
        self.parsed = parsed
        self.sources: SourceMap | None = None
        self.issues: list[ConfigIssue] = []

    def add(
        self,
        where: Position,
        message: str,
        hint: str | None = None,
        severity: Severity = "error",
    ) -> None:
        file = where.file if isinstance(where, InFile) and where.file else self.file
        self.issues.append(ConfigIssue(file, where.line, where.column, message, hint, severity))

    def at(self, path: Iterable[object], *, key: bool = False) -> Position:
        root = self.parsed.root if self.parsed else None
        steps: tuple[object, ...] = tuple(path)
        if self.sources is not None:
            source, steps = self.sources.route(steps)
            root = source.root
            pos = locate_key(root, steps) if key else locate(root, steps)
            return InFile(pos.line, pos.column, source.file)
        return locate_key(root, steps) if key else locate(root, steps)


def dotted(path: Iterable[object]) -> str:
    """``model_list[0].litellm_params.model`` from a path."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "top level"
