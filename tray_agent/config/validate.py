"""Validate ``config.yaml``: YAML syntax, the schema, and the env entries it references.

Included files (``include:``) are read here too and merged into one config, validated as a
whole; an issue in an included file is reported at that file's line and column.

Whatever the input, the functions here return issues; they never raise for a bad file.
The steps live beside this module: ``validate_yaml`` (reading and parsing),
``validate_includes`` (merging included files), ``validate_schema`` (schema errors) and
``validate_rules`` (env references, models, managed settings), all collecting into a
``validate_collector.IssueCollector``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tray_agent.config import includes, yamlload
from tray_agent.config.issues import ConfigInvalid, ConfigIssue
from tray_agent.config.locate import START, Parsed
from tray_agent.config.schema import ConfigFile
from tray_agent.config.validate_collector import IssueCollector, dotted
from tray_agent.config.validate_includes import merge_includes
from tray_agent.config.validate_rules import EXEMPT_ENV, env_issues, model_issues, settings_issues
from tray_agent.config.validate_schema import schema_issues
from tray_agent.config.validate_yaml import INIT_HINT, MAX_CONFIG_BYTES, parse, read_text

log = logging.getLogger("tray_agent.config")

__all__ = [
    "EXEMPT_ENV",
    "INIT_HINT",
    "MAX_CONFIG_BYTES",
    "Loaded",
    "dotted",
    "load_config",
    "read_text",
    "validate_file",
    "validate_text",
]


@dataclass
class Loaded:
    """A config that passed validation: the typed model, the raw data and its parse tree."""

    config: ConfigFile
    data: dict[str, Any]
    parsed: Parsed
    issues: list[ConfigIssue]


def _check(
    text: str,
    file: str,
    env_names: Collection[str] | None,
    disabled: Collection[str],
) -> tuple[IssueCollector, ConfigFile | None, Parsed | None]:
    out = IssueCollector(file)
    budget = yamlload.Budget()
    parsed = parse(out, text, budget)
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
        merged = merge_includes(out, data, Path(file), budget)
        if merged is None:
            return out, None, None
        data = merged
        parsed = Parsed(data, parsed.root)
    config: ConfigFile | None = None
    try:
        config = ConfigFile.model_validate(data)
    except ValidationError as exc:
        schema_issues(out, data, exc)
    env_issues(out, data, env_names, disabled)
    model_issues(out, data)
    settings_issues(out, data)
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


def validate_file(
    path: Path | str,
    env_names: Collection[str] | None = None,
    disabled_names: Collection[str] = (),
    text: str | None = None,
) -> list[ConfigIssue]:
    """Validate a config file (``text``: its content, already read); see ``validate_text``."""
    if text is None:
        text, issue = read_text(Path(path))
        if issue is not None or text is None:
            return [issue] if issue else []
    return validate_text(text, str(path), env_names, disabled_names)


def load_config(path: Path | str, text: str | None = None) -> Loaded:
    """Parse and validate a config (env entries not checked); raise ``ConfigInvalid`` on errors.

    ``text``: the file's content as already read (one read serves every step)."""
    if text is None:
        text, issue = read_text(Path(path))
        if issue is not None or text is None:
            raise ConfigInvalid([issue] if issue else [])
    out, config, parsed = _check(text, str(path), None, ())
    issues = sorted(out.issues, key=lambda i: _order(i, str(path)))
    if config is None or parsed is None or any(i.is_error for i in issues):
        raise ConfigInvalid(issues)
    return Loaded(config=config, data=parsed.data, parsed=parsed, issues=issues)
