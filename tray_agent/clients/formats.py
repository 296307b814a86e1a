"""Round-trip editing of settings files: change the keys we own, keep everything else.

Each format loads a document, reads/sets/removes values at a key path (a tuple of keys,
outermost first) and dumps it again. JSON keeps key order; TOML (tomlkit) and YAML (ruamel)
also keep comments and layout; dotenv keeps every line it does not own.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from abc import ABC, abstractmethod
from typing import Any, Final

from tray_agent.clients.errors import ClientsError

KeyPath = tuple[str, ...]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""Returned by ``get`` for an absent key."""

REMOVE: Final = _Missing()
"""An owned value meaning "this key must not be there" (e.g. a conflicting credential)."""


class SettingsFormat(ABC):
    name: str

    @abstractmethod
    def load(self, text: str, where: str) -> Any:
        """Parse ``text`` (empty for a new file); raise ClientsError naming ``where`` on errors."""

    @abstractmethod
    def dump(self, doc: Any) -> str: ...

    def get(self, doc: Any, path: KeyPath) -> Any:
        node = doc
        for key in path:
            if not _is_mapping(node) or key not in node:
                return MISSING
            node = node[key]
        return _plain(node)

    def set(self, doc: Any, path: KeyPath, value: Any) -> None:
        node = doc
        for key in path[:-1]:
            child = node.get(key) if _is_mapping(node) else None
            if not _is_mapping(child):
                child = self.new_table(node, key)
            node = child
        node[path[-1]] = self.convert(value)

    def remove(self, doc: Any, path: KeyPath) -> None:
        node = doc
        for key in path[:-1]:
            if not _is_mapping(node) or key not in node:
                return
            node = node[key]
        if _is_mapping(node) and path[-1] in node:
            del node[path[-1]]

    def new_table(self, parent: Any, key: str) -> Any:
        parent[key] = {}
        return parent[key]

    def convert(self, value: Any) -> Any:
        return value


def _is_mapping(node: Any) -> bool:
    return hasattr(node, "keys") and hasattr(node, "__getitem__")


def _plain(node: Any) -> Any:
    """A comparable plain-Python copy of a parsed value (tomlkit/ruamel wrap their scalars)."""
    if _is_mapping(node):
        return {str(k): _plain(node[k]) for k in node}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


class JsonFormat(SettingsFormat):
    """Plain JSON; key order kept, written with the file's indent (2 when new)."""

    name = "json"

    def load(self, text: str, where: str) -> Any:
        if not text.strip():
            return {}
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ClientsError(
                f"{where}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg}); "
                "fix or move the file, then run setup again"
            ) from exc
        if not isinstance(doc, dict):
            raise ClientsError(f"{where}:1:1: expected a JSON object at the top level")
        self._indent = _json_indent(text)
        return doc

    def dump(self, doc: Any) -> str:
        indent = getattr(self, "_indent", 2)
        return json.dumps(doc, indent=indent, ensure_ascii=False) + "\n"


def _json_indent(text: str) -> int | str:
    match = re.search(r"^\{\s*\n([ \t]+)\S", text)
    if not match:
        return 2
    ws = match.group(1)
    return "\t" if "\t" in ws else len(ws)


class TomlFormat(SettingsFormat):
    name = "toml"

    def load(self, text: str, where: str) -> Any:
        import tomlkit
        from tomlkit.exceptions import ParseError

        try:
            return tomlkit.parse(text)
        except ParseError as exc:
            raise ClientsError(
                f"{where}:{exc.line}:{exc.col}: not valid TOML ({exc}); "
                "fix or move the file, then run setup again"
            ) from exc

    def dump(self, doc: Any) -> str:
        import tomlkit

        return tomlkit.dumps(doc)

    def new_table(self, parent: Any, key: str) -> Any:
        import tomlkit

        # A super table renders as [parent.child] without an empty [parent] header.
        parent[key] = tomlkit.table(is_super_table=True)
        return parent[key]

    def convert(self, value: Any) -> Any:
        import tomlkit

        if isinstance(value, dict):
            table = tomlkit.table()
            for k, v in value.items():
                table[k] = self.convert(v)
            table.add(tomlkit.nl())  # a blank line before whatever table follows
            return table
        return value


class YamlFormat(SettingsFormat):
    name = "yaml"

    def _yaml(self) -> Any:
        from ruamel.yaml import YAML

        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 4096
        yaml.indent(**getattr(self, "_indent", {"mapping": 2, "sequence": 2, "offset": 0}))
        return yaml

    def load(self, text: str, where: str) -> Any:
        from ruamel.yaml.comments import CommentedMap
        from ruamel.yaml.error import MarkedYAMLError

        if not text.strip():
            # Keep comment-only files: parse gives None, so append after their text.
            self._prefix = text
            return CommentedMap()
        self._prefix = ""
        self._indent = _yaml_indent(text)
        try:
            doc = self._yaml().load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            raise ClientsError(
                f"{where}:{line}:{col}: not valid YAML ({exc.problem}); "
                "fix or move the file, then run setup again"
            ) from exc
        if doc is None:
            self._prefix = text if text.endswith("\n") else text + "\n"
            return CommentedMap()
        if not isinstance(doc, CommentedMap):
            raise ClientsError(f"{where}:1:1: expected a YAML mapping at the top level")
        return doc

    def dump(self, doc: Any) -> str:
        buf = io.StringIO()
        if doc:
            self._yaml().dump(doc, buf)
        return getattr(self, "_prefix", "") + buf.getvalue()

    def new_table(self, parent: Any, key: str) -> Any:
        from ruamel.yaml.comments import CommentedMap

        parent[key] = CommentedMap()
        return parent[key]


def _yaml_indent(text: str) -> dict[str, int]:
    """ruamel indent settings reproducing the file's block sequences (``- x`` under a key
    at the same column, or indented by some columns)."""
    lines = text.splitlines()
    for prev, line in itertools.pairwise(lines):
        key = re.match(r"^(\s*)[^\s#-][^:#]*:\s*(#.*)?$", prev)
        item = re.match(r"^(\s*)- ", line)
        if key and item:
            offset = max(0, len(item.group(1)) - len(key.group(1)))
            return {"mapping": 2, "sequence": offset + 2, "offset": offset}
    return {"mapping": 2, "sequence": 2, "offset": 0}


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")


class DotenvFormat(SettingsFormat):
    """``NAME=value`` lines; comments, blank lines and foreign lines are kept as they are.

    The document is a list of lines; only flat key paths (one name) exist here.
    """

    name = "dotenv"

    def load(self, text: str, where: str) -> Any:
        return text.splitlines(keepends=True)

    def dump(self, doc: Any) -> str:
        return "".join(doc)

    def _find(self, doc: list[str], name: str) -> int | None:
        for i, line in enumerate(doc):
            m = _DOTENV_LINE.match(line)
            if m and m.group(1) == name:
                return i
        return None

    def get(self, doc: Any, path: KeyPath) -> Any:
        i = self._find(doc, path[0])
        if i is None:
            return MISSING
        m = _DOTENV_LINE.match(doc[i])
        assert m is not None
        return _dotenv_unquote(m.group(2).strip())

    def set(self, doc: Any, path: KeyPath, value: Any) -> None:
        line = f"{path[0]}={_dotenv_quote(str(value))}\n"
        i = self._find(doc, path[0])
        if i is not None:
            doc[i] = line
            return
        if doc and not doc[-1].endswith("\n"):
            doc[-1] += "\n"
        doc.append(line)

    def remove(self, doc: Any, path: KeyPath) -> None:
        i = self._find(doc, path[0])
        if i is not None:
            del doc[i]


def _dotenv_quote(value: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./:@,+=-]*", value):
        return value
    return "'" + value.replace("'", "") + "'"


def _dotenv_unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


FORMATS: dict[str, type[SettingsFormat]] = {
    f.name: f for f in (JsonFormat, TomlFormat, YamlFormat, DotenvFormat)
}


def apply_values(fmt: SettingsFormat, text: str, values: dict[KeyPath, Any], where: str) -> str:
    """``text`` with every owned value set (or removed for REMOVE); unchanged text if equal."""
    doc = fmt.load(text, where)
    changed = False
    for path, value in values.items():
        current = fmt.get(doc, path)
        if value is REMOVE:
            if current is not MISSING:
                fmt.remove(doc, path)
                changed = True
        elif current != value:
            fmt.set(doc, path, value)
            changed = True
    return fmt.dump(doc) if changed else text


def values_present(fmt: SettingsFormat, text: str, values: dict[KeyPath, Any]) -> bool:
    """Whether ``text`` already holds every owned value."""
    try:
        doc = fmt.load(text, "")
    except ClientsError:
        return False
    for path, value in values.items():
        current = fmt.get(doc, path)
        if (value is REMOVE and current is not MISSING) or (
            value is not REMOVE and current != value
        ):
            return False
    return True
