"""The one way product code loads YAML: PyYAML's safe grammar, with expansion bounded.

YAML aliases (``*name``) repeat what their anchor (``&name``) holds, and nested ones
multiply: nine levels of ten aliases is a billion nodes in a few hundred bytes. PyYAML
shares the repeated objects, so loading stays small, but whatever walks or copies the data
afterwards (LiteLLM, pydantic, JSON) expands it. So before any node is composed, the
parser's event stream is counted with every alias standing for the size of its anchor; a
document that would expand past ``MAX_NODES`` nodes, nest deeper than ``MAX_DEPTH`` or
refer to itself is refused with the position of the anchor that repeats too much. Aliases
in ordinary use (a shared ``model_info``, merge keys) cost what they expand to and pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tray_agent.config.issues import excerpt

# libyaml when present: same grammar and positions as yaml.safe_load, ten times faster.
Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_NODES = 100_000
"""Nodes a document may expand to (aliases counted as what they repeat); real configs have
a few thousand."""
MAX_DEPTH = 100
MAX_FILE_BYTES = 2 * 1024 * 1024
"""Largest YAML file read; real configs are a few kilobytes, a thousand models ~300 KB."""
"""Nesting a document may have; real configs nest fewer than ten levels."""
Mark = Any
"""A position: PyYAML's ``yaml.Mark`` or libyaml's (``line``, ``column``, 0-based)."""
EXPANSION_HINT = (
    "aliases (*name) repeat their anchor (&name) and nested ones multiply: write the "
    "repeated part out, or repeat it fewer times"
)


class YamlTooLarge(yaml.MarkedYAMLError):
    """A document refused for its expanded size, depth or a self-reference, with a position."""

    def __init__(self, problem: str, mark: Mark | None, hint: str) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.hint = hint


def _where(mark: Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the start"


def check_expansion(text: str, limit: int = MAX_NODES, depth: int = MAX_DEPTH) -> None:
    """Raise ``YamlTooLarge`` when ``text`` expands past ``limit`` nodes or nests too deep.

    Syntax errors are left to the loader that runs next (its messages are the familiar ones):
    counting stops quietly where the parser does.
    """
    total = 0
    sizes: dict[str, int] = {}
    marks: dict[str, Mark] = {}
    open_: list[tuple[str | None, int]] = []
    loader = Loader(text)
    try:
        while True:
            try:
                event = loader.get_event()
            except yaml.YAMLError:
                return
            if event is None or isinstance(event, yaml.StreamEndEvent):
                return
            if isinstance(event, yaml.AliasEvent):
                name = str(event.anchor)
                if any(anchor == name for anchor, _ in open_):
                    raise YamlTooLarge(
                        f"alias *{excerpt(name)} is inside its own anchor "
                        f"(&{excerpt(name)} at {_where(marks.get(name))}): it would never end",
                        marks.get(name, event.start_mark),
                        "an alias may only repeat a node that is complete before it",
                    )
                if name not in sizes:
                    continue  # undefined: the loader reports it with its own message
                total += sizes[name]
                if total > limit:
                    raise YamlTooLarge(
                        f"alias *{excerpt(name)} at {_where(event.start_mark)} repeats "
                        f"&{excerpt(name)} ({sizes[name]} nodes), which makes the config expand "
                        f"to more than {limit} YAML nodes",
                        marks.get(name, event.start_mark),
                        EXPANSION_HINT,
                    )
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, start = open_.pop()
                if anchor is not None:
                    sizes[anchor] = total - start
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            total += 1
            anchor = event.anchor
            if anchor is not None:
                marks[anchor] = event.start_mark
            if isinstance(event, yaml.CollectionStartEvent):
                open_.append((anchor, total - 1))
                if len(open_) > depth:
                    raise YamlTooLarge(
                        f"the config nests more than {depth} levels deep",
                        event.start_mark,
                        "flatten this part of the config",
                    )
            elif anchor is not None:
                sizes[anchor] = 1
            if total > limit:
                raise YamlTooLarge(
                    f"the config has more than {limit} YAML nodes",
                    event.start_mark,
                    "split the config or remove unused parts",
                )
    finally:
        loader.dispose()


def compose(text: str) -> tuple[yaml.Node | None, yaml.SafeLoader]:
    """The checked single document's node graph and the loader to construct it with.

    The caller constructs (``loader.construct_document(root)``) and must ``dispose()``.
    """
    check_expansion(text)
    loader = Loader(text)
    try:
        return loader.get_single_node(), loader
    except BaseException:
        loader.dispose()
        raise


def load(text: str) -> Any:
    """``yaml.safe_load`` for product files, refusing documents that expand too far.

    Raises ``yaml.YAMLError`` (``YamlTooLarge`` for the expansion limits), like safe_load.
    """
    root, loader = compose(text)
    try:
        return loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()


class PlainDumper(yaml.SafeDumper):
    """Writes shared values out in full: a reader of the output never meets an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_plain(data: Any, **kwargs: Any) -> str:
    """``yaml.safe_dump`` without anchors or aliases (the data must not refer to itself)."""
    return yaml.dump(data, Dumper=PlainDumper, **kwargs)


def load_file(path: Path | str, what: str = "the config file") -> Any:
    """``load`` of a regular file of at most ``MAX_FILE_BYTES`` (OSError or YAMLError)."""
    from tray_agent.fsutil import read_text_capped

    return load(read_text_capped(path, MAX_FILE_BYTES, what))
