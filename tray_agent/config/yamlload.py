"""The one way product code loads YAML: PyYAML's safe grammar, with expansion bounded.

YAML aliases (``*name``) repeat what their anchor (``&name``) holds, and nested ones
multiply: nine levels of ten aliases is a billion nodes in a few hundred bytes. PyYAML
shares the repeated objects, so loading stays small, but whatever walks or copies the data
afterwards (LiteLLM, pydantic, JSON) expands it. So before any node is composed, the
parser's event stream is counted with every alias standing for the size of its anchor; a
document that would expand past ``MAX_NODES`` nodes or ``MAX_EXPANDED_BYTES`` of scalar
text (one long string repeated is as bad as many nodes), nest deeper than ``MAX_DEPTH`` or
refer to itself is refused with the position of the anchor that repeats too much. Aliases
in ordinary use (a shared ``model_info``, merge keys) cost what they expand to and pass.
A ``Budget`` shared by several documents (a config and the files it includes) bounds them
together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tray_agent.config.issues import excerpt

# libyaml when present: same grammar and positions as yaml.safe_load, ten times faster.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_INT_CHARS = 100
"""Longest integer scalar: YAML 1.1 base-60 integers (``1:59:59``) cost quadratic time to
build, and Python refuses to print integers past 4,300 digits; no config needs more."""


class _BoundedLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """The safe loader, with integers bounded in length."""


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if len(text) > MAX_INT_CHARS:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"an integer of {len(text)} characters (at most {MAX_INT_CHARS}); "
            "write a shorter number, or quote it to make it text",
            node.start_mark,
        )
    value: int = yaml.SafeLoader.construct_yaml_int(loader, node)
    return value


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
Loader: type[yaml.SafeLoader] = _BoundedLoader

MAX_NODES = 100_000
"""Nodes a document may expand to (aliases counted as what they repeat); real configs have
a few thousand."""
MAX_EXPANDED_BYTES = 8 * 1024 * 1024
"""Characters of scalar text a document may expand to (aliases counted as what they repeat);
a thousand models are ~300 KB."""
MAX_DEPTH = 100
"""Nesting a document may have; real configs nest fewer than ten levels."""
MAX_FILE_BYTES = 2 * 1024 * 1024
"""Largest YAML file read; real configs are a few kilobytes, a thousand models ~300 KB."""
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


@dataclass
class Budget:
    """What the documents counted so far expanded to, against the limits they share."""

    nodes: int = 0
    bytes: int = 0
    max_nodes: int = MAX_NODES
    max_bytes: int = MAX_EXPANDED_BYTES


def _where(mark: Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the start"


def check_expansion(text: str, budget: Budget | None = None, depth: int = MAX_DEPTH) -> None:
    """Raise ``YamlTooLarge`` when ``text`` expands past the budget or nests too deep.

    ``budget`` (a fresh one when omitted) is charged with what ``text`` expands to, so
    documents loaded together share it. Syntax errors are left to the loader that runs next
    (its messages are the familiar ones): counting stops quietly where the parser does.
    """
    b = budget if budget is not None else Budget()
    # Per anchor: the nodes and scalar characters one alias to it repeats.
    sizes: dict[str, tuple[int, int]] = {}
    marks: dict[str, Mark] = {}
    open_: list[tuple[str | None, int, int]] = []
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
                if any(anchor == name for anchor, _, _ in open_):
                    raise YamlTooLarge(
                        f"alias *{excerpt(name)} is inside its own anchor "
                        f"(&{excerpt(name)} at {_where(marks.get(name))}): it would never end",
                        marks.get(name, event.start_mark),
                        "an alias may only repeat a node that is complete before it",
                    )
                if name not in sizes:
                    continue  # undefined: the loader reports it with its own message
                nodes, chars = sizes[name]
                b.nodes += nodes
                b.bytes += chars
                if b.nodes > b.max_nodes or b.bytes > b.max_bytes:
                    size = (
                        f"{nodes} nodes), which makes the config expand to more than "
                        f"{b.max_nodes} YAML nodes"
                        if b.nodes > b.max_nodes
                        else f"{chars} characters of text), which makes the config expand to "
                        f"more than {b.max_bytes // (1024 * 1024)} MiB of text"
                    )
                    raise YamlTooLarge(
                        f"alias *{excerpt(name)} at {_where(event.start_mark)} repeats "
                        f"&{excerpt(name)} ({size}",
                        marks.get(name, event.start_mark),
                        EXPANSION_HINT,
                    )
                continue
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, nodes_at, bytes_at = open_.pop()
                if anchor is not None:
                    sizes[anchor] = (b.nodes - nodes_at, b.bytes - bytes_at)
                continue
            if not isinstance(event, yaml.NodeEvent):
                continue
            b.nodes += 1
            anchor = event.anchor
            if anchor is not None:
                marks[anchor] = event.start_mark
            if isinstance(event, yaml.CollectionStartEvent):
                open_.append((anchor, b.nodes - 1, b.bytes))
                if len(open_) > depth:
                    raise YamlTooLarge(
                        f"the config nests more than {depth} levels deep",
                        event.start_mark,
                        "flatten this part of the config",
                    )
            else:
                chars = len(event.value) if isinstance(event, yaml.ScalarEvent) else 0
                b.bytes += chars
                if anchor is not None:
                    sizes[anchor] = (1, chars)
            if b.nodes > b.max_nodes or b.bytes > b.max_bytes:
                what = (
                    f"more than {b.max_nodes} YAML nodes"
                    if b.nodes > b.max_nodes
                    else f"more than {b.max_bytes // (1024 * 1024)} MiB of text"
                )
                raise YamlTooLarge(
                    f"the config has {what}",
                    event.start_mark,
                    "split the config or remove unused parts",
                )
    finally:
        loader.dispose()


def compose(text: str, budget: Budget | None = None) -> tuple[yaml.Node | None, yaml.SafeLoader]:
    """The checked single document's node graph and the loader to construct it with.

    The caller constructs (``loader.construct_document(root)``) and must ``dispose()``.
    """
    check_expansion(text, budget)
    loader = Loader(text)
    try:
        return loader.get_single_node(), loader
    except BaseException:
        loader.dispose()
        raise


def load(text: str, budget: Budget | None = None) -> Any:
    """``yaml.safe_load`` for product files, refusing documents that expand too far.

    Raises ``yaml.YAMLError`` (``YamlTooLarge`` for the expansion limits), like safe_load.
    """
    root, loader = compose(text, budget)
    try:
        return loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()


class PlainDumper(yaml.SafeDumper):
    """Writes shared values out in full: a reader of the output never meets an alias."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# libyaml's emitter when present: the same output, a hundred times faster (megabytes of
# permitted text render in well under a second instead of several).
_CSafeDumper: Any = getattr(yaml, "CSafeDumper", None)
_FastPlainDumper: Any = (
    type("_FastPlainDumper", (_CSafeDumper,), {"ignore_aliases": PlainDumper.ignore_aliases})
    if _CSafeDumper is not None
    else PlainDumper
)


def dump_plain(data: Any, stream: Any = None, **kwargs: Any) -> Any:
    """``yaml.safe_dump`` without anchors or aliases (the data must not refer to itself).

    Returns the text, or writes it to ``stream`` piece by piece when one is given.
    """
    return yaml.dump(data, stream, Dumper=_FastPlainDumper, **kwargs)


def load_file(path: Path | str, what: str = "the config file", budget: Budget | None = None) -> Any:
    """``load`` of a regular file of at most ``MAX_FILE_BYTES`` (OSError or YAMLError)."""
    from tray_agent.fsutil import read_text_capped

    return load(read_text_capped(path, MAX_FILE_BYTES, what), budget)
