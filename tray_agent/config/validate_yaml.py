"""Reading a config file and parsing its YAML into issues instead of exceptions.

The file is read with a size cap and must be UTF-8; the YAML goes through the one bounded
loader (``yamlload``). Parser messages quote the input, so they are cut with ``excerpt``:
a file that is not a config (a symlink to a password file) is never echoed.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tray_agent.config import yamlload
from tray_agent.config.issues import ConfigIssue, excerpt, excerpt_quoted
from tray_agent.config.locate import START, Parsed, Position
from tray_agent.config.validate_collector import IssueCollector
from tray_agent.fsutil import read_bytes_capped

MAX_CONFIG_BYTES = yamlload.MAX_FILE_BYTES
INIT_HINT = "start from a template: litellm-bridge init --template demo"


def _duplicate_keys(out: IssueCollector, root: yaml.Node | None) -> None:
    """PyYAML keeps the last of two equal keys silently; that is almost always a mistake."""
    seen: set[int] = set()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: dict[str, yaml.Node] = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in keys:
                        first = keys[k.value].start_mark.line + 1
                        out.add(
                            Position(k.start_mark.line + 1, k.start_mark.column + 1),
                            f"duplicate key '{excerpt(k.value)}' (first on line {first})",
                            "remove one of them: only the last one would be used",
                        )
                    keys[k.value] = k
                stack.extend((k, v))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _position(text: str, offset: int) -> Position:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return Position(line, offset - (text.rfind("\n", 0, offset) + 1) + 1)


def parse(out: IssueCollector, text: str, budget: yamlload.Budget | None = None) -> Parsed | None:
    # Parser messages quote the input ('...'): excerpt() keeps a file that is not a config
    # (a symlink to a password file) from being echoed.
    try:
        root, loader = yamlload.compose(text, budget)
        try:
            out.parsed = Parsed(None, root)
            _duplicate_keys(out, root)
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yamlload.YamlTooLarge as exc:
        mark = exc.problem_mark
        where = Position(mark.line + 1, mark.column + 1) if mark else START
        out.add(where, str(exc.problem), exc.hint)
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Position(mark.line + 1, mark.column + 1) if mark else START
        problem = excerpt_quoted(exc.problem or exc.context or "invalid YAML")
        context = f" ({excerpt_quoted(exc.context)})" if exc.context and exc.problem else ""
        line = text.splitlines()[where.line - 1] if where.line <= len(text.splitlines()) else ""
        at_tab = "\t" in line[: where.column]
        out.add(where, f"YAML syntax error: {problem}{context}", _yaml_hint(problem, at_tab))
        return None
    except yaml.reader.ReaderError as exc:
        where = _position(text, exc.position) if isinstance(exc.position, int) else START
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1])
        out.add(
            where,
            f"YAML cannot contain the control character #x{code:04x}",
            'remove it, or write it as an escape inside double quotes ("\\x01")',
        )
        return None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        # Constructors failing on values such as 2024-02-30 (their messages name no input).
        problem = excerpt_quoted(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        out.add(START, f"YAML could not be read: {problem}", "check the file's YAML syntax")
        return None
    parsed = Parsed(data, out.parsed.root if out.parsed else None)
    out.parsed = parsed
    return parsed


def _yaml_hint(problem: str, at_tab: bool = False) -> str:
    if at_tab or "tab" in problem:
        return "indent with spaces, not tabs"
    if "mapping values" in problem:
        return "a value containing ': ' must be quoted"
    if "indent" in problem or "block end" in problem:
        return "check the indentation of this line and the one before"
    return "check quotes, colons and indentation around this position"


def read_text(path: Path) -> tuple[str | None, ConfigIssue | None]:
    """The file's text, or the issue explaining why it cannot be read."""
    file = str(path)
    try:
        raw = read_bytes_capped(path, MAX_CONFIG_BYTES, "the config file")
    except FileNotFoundError:
        return None, ConfigIssue(file, 1, 1, "config file not found", INIT_HINT)
    except IsADirectoryError:
        return None, ConfigIssue(file, 1, 1, "this is a directory, not a config file")
    except OSError as exc:
        return None, ConfigIssue(file, 1, 1, f"cannot read the file: {exc.strerror or exc}")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, ConfigIssue(file, line, column, "the file is not valid UTF-8 text")
