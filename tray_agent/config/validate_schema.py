"""Schema errors (pydantic) turned into issues a user can act on: position, key, hint.

Unknown keys get a "did you mean" from the closed key set of their section; several
errors at the same place are merged into one line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from tray_agent.config import schema
from tray_agent.config.issues import excerpt
from tray_agent.config.schema import BridgeSection, ConfigFile, ModelEntry
from tray_agent.config.validate_collector import IssueCollector, dotted
from tray_agent.token.profiles import JsonIamProfile, OAuth2PasswordIamProfile


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


def schema_issues(out: IssueCollector, data: Any, error: ValidationError) -> None:
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
