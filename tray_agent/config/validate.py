"""Validate ``config.yaml``: YAML syntax, the schema, and the env entries it references.

Included files (``include:``) are read here too and merged into one config, validated as a
whole; an issue in an included file is reported at that file's line and column.

Whatever the input, the functions here return issues; they never raise for a bad file.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from tray_agent.config import includes, schema, yamlload
from tray_agent.config.includes import Source, SourceMap
from tray_agent.config.issues import ConfigInvalid, ConfigIssue, Severity, excerpt, excerpt_quoted
from tray_agent.config.locate import START, Parsed, Position, locate, locate_key
from tray_agent.config.refs import iter_env_refs, ref_name
from tray_agent.config.schema import (
    MASTER_KEY_ENV,
    TOKEN_ENV,
    BridgeSection,
    ConfigFile,
    ModelEntry,
)
from tray_agent.envref import ENV_PREFIX
from tray_agent.fsutil import read_bytes_capped
from tray_agent.token.profiles import JsonIamProfile, OAuth2PasswordIamProfile

log = logging.getLogger("tray_agent.config")

MAX_CONFIG_BYTES = yamlload.MAX_FILE_BYTES
EXEMPT_ENV = frozenset({TOKEN_ENV, MASTER_KEY_ENV})
INIT_HINT = "start from a template: litellm-bridge init --template demo"


@dataclass
class Loaded:
    """A config that passed validation: the typed model, the raw data and its parse tree."""

    config: ConfigFile
    data: dict[str, Any]
    parsed: Parsed
    issues: list[ConfigIssue]


@dataclass(frozen=True)
class _InFile(Position):
    """A position in a file other than the collector's own (an included file)."""

    file: str = ""


class _Collector:
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
        file = where.file if isinstance(where, _InFile) and where.file else self.file
        self.issues.append(ConfigIssue(file, where.line, where.column, message, hint, severity))

    def at(self, path: Iterable[object], *, key: bool = False) -> Position:
        root = self.parsed.root if self.parsed else None
        steps: tuple[object, ...] = tuple(path)
        if self.sources is not None:
            source, steps = self.sources.route(steps)
            root = source.root
            pos = locate_key(root, steps) if key else locate(root, steps)
            return _InFile(pos.line, pos.column, source.file)
        return locate_key(root, steps) if key else locate(root, steps)


def dotted(path: Iterable[object]) -> str:
    """``model_list[0].litellm_params.model`` from a path."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out or "top level"


def _data_path(data: Any, loc: Iterable[object]) -> tuple[object, ...]:
    """The part of a pydantic ``loc`` that exists in the data (drops union tags, type names)."""
    node, path = data, []
    for step in loc:
        in_dict = isinstance(node, dict) and step in node
        in_list = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if not (in_dict or in_list):
            continue
        node = node[step]
        path.append(step)
    return tuple(path)


def _known_keys_at(data: Any, path: tuple[object, ...]) -> list[str]:
    """The closed key set of the section at ``path``, when there is one."""
    model: type[BaseModel] | None = None
    if path == ():
        model = ConfigFile
    elif path == ("bridge",):
        model = BridgeSection
    elif len(path) == 2 and path[0] == "model_list" and isinstance(path[1], int):
        model = ModelEntry
    elif path == ("bridge", "iam"):
        iam = data.get("bridge", {}).get("iam") if isinstance(data, dict) else None
        kind = iam.get("kind") if isinstance(iam, dict) else None
        model = OAuth2PasswordIamProfile if kind == "oauth2-password" else JsonIamProfile
    return list(model.model_fields) if model else []


def _did_you_mean(key: object, known: list[str]) -> str | None:
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if known:
        return "known keys: " + ", ".join(known)
    return None


def _schema_issues(out: _Collector, data: Any, error: ValidationError) -> None:
    merged: dict[tuple[object, ...], list[str]] = {}
    for err in error.errors():
        loc = tuple(err["loc"])
        kind = err["type"]
        path = _data_path(data, loc)
        if kind == "extra_forbidden":
            section, key = path[:-1], path[-1] if path else loc[-1]
            place = f"in {dotted(section)}" if section else "at the top level"
            hint = _did_you_mean(key, _known_keys_at(data, section))
            out.add(out.at(path, key=True), f"unknown key '{excerpt(key)}' {place}", hint)
        elif kind == "missing":
            field = loc[-1]
            prefix, under = (f"{dotted(path)}: ", f" under {dotted(path)}") if path else ("", "")
            out.add(
                out.at(path, key=True),
                f"{prefix}missing required key '{field}'",
                f"add '{field}:'{under}",
            )
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            tag_path = (*path, "kind")
            expected = "'json' or 'oauth2-password'"
            out.add(
                out.at(tag_path),
                f"{dotted(path)}: kind must be {expected}",
                "see the IAM examples in the openai-compatible template",
            )
        else:
            merged.setdefault(path, []).append(err["msg"])
    for path, messages in merged.items():
        unique = list(dict.fromkeys(m.removeprefix("Value error, ") for m in messages))
        where = out.at(path)
        text = " or ".join(m[0].lower() + m[1:] if m else m for m in unique)
        out.add(where, f"{dotted(path)}: {text}", _type_hint(path))


def _type_hint(path: tuple[object, ...]) -> str | None:
    if path[:2] == ("bridge", "port"):
        return f"a whole number from {schema.PORT_MIN} to {schema.PORT_MAX}, e.g. 4000"
    if path[-1:] == ("extra_body",):
        return "extra_body is a mapping of field: value (os.environ/NAME for per-user values)"
    if path[:1] == ("model_list",) and len(path) == 1:
        return "model_list is a list of entries with model_name and litellm_params"
    return None


def _env_issues(
    out: _Collector,
    data: Any,
    env_names: Collection[str] | None,
    disabled: Collection[str],
) -> None:
    for ref in iter_env_refs(data):
        where = out.at(ref.path)
        if not ref.valid:
            out.add(
                where,
                f"'{ENV_PREFIX}{excerpt(ref.name)}' does not name a valid environment variable",
                "use letters, digits and underscores, not starting with a digit",
            )
            continue
        in_extra_body = len(ref.path) == 5 and ref.path[2:4] == ("litellm_params", "extra_body")
        if ref.name == TOKEN_ENV:
            if not (in_extra_body and ref.path[0] == "model_list"):
                out.add(
                    where,
                    f"{ENV_PREFIX}{TOKEN_ENV} is only injected from a model's extra_body",
                    "put it under model_list[].litellm_params.extra_body (e.g. token: ...)",
                )
            continue
        if ref.name in EXEMPT_ENV or env_names is None or ref.name in env_names:
            continue
        if ref.name in disabled:
            out.add(
                where,
                f"env entry {ref.name} is disabled",
                f"enable it: litellm-bridge env enable {ref.name}",
            )
        else:
            # A secret is typed at the prompt, never put on the command line (ps, history).
            how = " --secret" if _looks_secret(ref.name) else " VALUE"
            out.add(
                where,
                f"no env entry {ref.name} (referenced as {ENV_PREFIX}{ref.name})",
                f"add it: litellm-bridge env set {ref.name}{how}",
            )


def _looks_secret(name: str) -> bool:
    from tray_agent.envstore.names import looks_secret

    return looks_secret(name)


def _model_issues(out: _Collector, data: dict[str, Any]) -> None:
    models = data.get("model_list")
    if not isinstance(models, list):
        return
    bodies: dict[str, tuple[int, Any]] = {}
    for i, entry in enumerate(models):
        if not isinstance(entry, dict):
            continue
        params = entry.get("litellm_params")
        if not isinstance(params, dict):
            continue
        key = params.get("api_key")
        if isinstance(key, str) and key and ref_name(key) is None:
            out.add(
                out.at(("model_list", i, "litellm_params", "api_key")),
                "api_key is written in the config file in clear",
                "keep it in the env store: litellm-bridge env set NAME --secret (then type it), "
                f"then api_key: {ENV_PREFIX}NAME",
                "warning",
            )
        body = params.get("extra_body")
        if not isinstance(body, dict):
            continue
        for field, value in body.items():
            if isinstance(value, dict | list) and any(True for _ in iter_env_refs(value)):
                out.add(
                    out.at(("model_list", i, "litellm_params", "extra_body", field)),
                    f"extra_body.{field}: {ENV_PREFIX} references are only resolved at the "
                    "first level of extra_body",
                    "move the value to its own top-level extra_body field",
                )
        name = entry.get("model_name")
        if isinstance(name, str):
            if name in bodies and bodies[name][1] != body:
                out.add(
                    out.at(("model_list", i, "litellm_params", "extra_body")),
                    f"model '{excerpt(name)}' has a different extra_body than entry "
                    f"{bodies[name][0]}",
                    "entries sharing a model_name must inject the same fields",
                )
            bodies.setdefault(name, (i, body))


def _settings_issues(out: _Collector, data: dict[str, Any]) -> None:
    general = data.get("general_settings")
    managed = f"{ENV_PREFIX}{MASTER_KEY_ENV}"
    if isinstance(general, dict) and general.get("master_key", managed) != managed:
        out.add(
            out.at(("general_settings", "master_key")),
            "general_settings.master_key is managed by the bridge; this value is replaced",
            "remove it: the bridge sets its own key for the local proxy",
            "warning",
        )


def _duplicate_keys(out: _Collector, root: yaml.Node | None) -> None:
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


def _parse(out: _Collector, text: str, budget: yamlload.Budget | None = None) -> Parsed | None:
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


def _include_entries(out: _Collector, data: dict[str, Any]) -> list[tuple[int, str]]:
    entries = data.get(includes.INCLUDE_KEY)
    if entries is None:
        return []
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        out.add(
            out.at((includes.INCLUDE_KEY,)),
            "include must be a list of file names",
            "include: [models.yaml] (relative to the file that includes it)",
        )
        return []
    return list(enumerate(entries))


def _merge_includes(
    out: _Collector, data: dict[str, Any], root_file: Path, budget: yamlload.Budget
) -> dict[str, Any] | None:
    """``data`` with every included file merged in, or None when one cannot be used.

    Every file is read through the bounded loader and charged to the same ``budget``: the
    merged config is what the sidecar gets, so it is what must stay small.
    """
    sources = SourceMap(Source(out.file, out.parsed.root if out.parsed else None))
    out.sources = sources
    merged = {k: v for k, v in data.items() if k != includes.INCLUDE_KEY}
    before = len(out.issues)
    pending = [(i, e, root_file, sources.main) for i, e in _include_entries(out, data)]
    done = {Path(os.path.abspath(root_file))}
    ok = len(out.issues) == before
    while pending and ok:
        index, entry, declared_in, declaring = pending.pop(0)
        where = locate(declaring.root, (includes.INCLUDE_KEY, index))
        target = includes.resolve_path(entry, declared_in, root_file)
        if target in done:
            continue
        done.add(target)
        if not target.exists():
            out.add(
                _InFile(where.line, where.column, declaring.file),
                f"included file not found: {excerpt(entry, 80)} (looked for {target})",
                "create it, or remove it from include:",
            )
            return None
        included = _Collector(str(target))
        text, issue = read_text(target)
        parsed = _parse(included, text, budget) if text is not None else None
        if issue is not None:
            included.issues.append(issue)
        source = Source(included.file, parsed.root if parsed else None)
        if parsed is not None and parsed.data is not None and not isinstance(parsed.data, dict):
            included.add(
                START, "an included file must be a mapping (model_list: ...)", INCLUDE_HINT
            )
        elif parsed is not None and isinstance(parsed.data, dict):
            for key in includes.REFUSED_KEYS:
                if key in parsed.data:
                    included.add(
                        locate_key(parsed.root, (key,)),
                        f"an included file may not set {key} (only config.yaml may)",
                        includes.REFUSED_HINT.format(key=key),
                    )
            nested = _Collector(included.file, parsed)
            pending += [(i, e, target, source) for i, e in _include_entries(nested, parsed.data)]
            included.issues += nested.issues
            if not included.issues:
                includes.merge(merged, parsed.data, source, sources)
        out.issues += included.issues
        ok = not any(i.is_error for i in included.issues)
    return merged if ok else None


INCLUDE_HINT = "put the models in config.yaml, or in an included file as model_list:"


def _yaml_hint(problem: str, at_tab: bool = False) -> str:
    if at_tab or "tab" in problem:
        return "indent with spaces, not tabs"
    if "mapping values" in problem:
        return "a value containing ': ' must be quoted"
    if "indent" in problem or "block end" in problem:
        return "check the indentation of this line and the one before"
    return "check quotes, colons and indentation around this position"


def _check(
    text: str,
    file: str,
    env_names: Collection[str] | None,
    disabled: Collection[str],
) -> tuple[_Collector, ConfigFile | None, Parsed | None]:
    out = _Collector(file)
    budget = yamlload.Budget()
    parsed = _parse(out, text, budget)
    if parsed is None:
        return out, None, None
    data = parsed.data
    if data is None:
        out.add(START, "the config is empty", INIT_HINT)
        return out, None, parsed
    if not isinstance(data, dict):
        out.add(out.at(()), "the config must be a mapping (model_list:, bridge:, ...)", INIT_HINT)
        return out, None, parsed
    if includes.INCLUDE_KEY in data:
        merged = _merge_includes(out, data, Path(file), budget)
        if merged is None:
            return out, None, None
        data = merged
        parsed = Parsed(data, parsed.root)
    config: ConfigFile | None = None
    try:
        config = ConfigFile.model_validate(data)
    except ValidationError as exc:
        _schema_issues(out, data, exc)
    _env_issues(out, data, env_names, disabled)
    _model_issues(out, data)
    _settings_issues(out, data)
    return out, config, parsed


def _order(issue: ConfigIssue, main: str) -> tuple[bool, str, int, int]:
    """The config's own issues first, then each included file's, each in file order."""
    return (issue.file != main, issue.file, issue.line or 0, issue.column or 0)


def validate_text(
    text: str,
    file: str = "config.yaml",
    env_names: Collection[str] | None = None,
    disabled_names: Collection[str] = (),
) -> list[ConfigIssue]:
    """Every issue in ``text``, sorted by position.

    ``env_names`` are the enabled env entries; ``None`` skips the env-entry check.
    ``disabled_names`` only improves the hint for references to disabled entries.
    """
    try:
        out, _, _ = _check(text, file, env_names, disabled_names)
        issues = out.issues
    except Exception as exc:  # a bug here must not take the agent down with it
        log.exception("config validation failed unexpectedly")
        issues = [ConfigIssue(file, 1, 1, f"internal error while validating: {exc!r}")]
    return sorted(issues, key=lambda i: _order(i, file))


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


def validate_file(
    path: Path | str,
    env_names: Collection[str] | None = None,
    disabled_names: Collection[str] = (),
) -> list[ConfigIssue]:
    """Validate a config file; see ``validate_text``."""
    text, issue = read_text(Path(path))
    if issue is not None or text is None:
        return [issue] if issue else []
    return validate_text(text, str(path), env_names, disabled_names)


def load_config(path: Path | str) -> Loaded:
    """Parse and validate a config (env entries not checked); raise ``ConfigInvalid`` on errors."""
    text, issue = read_text(Path(path))
    if issue is not None or text is None:
        raise ConfigInvalid([issue] if issue else [])
    out, config, parsed = _check(text, str(path), None, ())
    issues = sorted(out.issues, key=lambda i: _order(i, str(path)))
    if config is None or parsed is None or any(i.is_error for i in issues):
        raise ConfigInvalid(issues)
    return Loaded(config=config, data=parsed.data, parsed=parsed, issues=issues)
