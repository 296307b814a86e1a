"""Checks beyond the schema: env references, model entries and bridge-managed settings.

These read the merged config as plain data; each problem is an issue at the value's
position, an error or (for what still works but should not be written so) a warning.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from tray_agent.config.issues import excerpt
from tray_agent.config.refs import iter_env_refs, ref_name
from tray_agent.config.schema import MASTER_KEY_ENV, TOKEN_ENV
from tray_agent.config.validate_collector import IssueCollector
from tray_agent.envref import ENV_PREFIX

EXEMPT_ENV = frozenset({TOKEN_ENV, MASTER_KEY_ENV})
"""Variables the bridge itself provides: a reference to them needs no env entry."""


def env_issues(
    out: IssueCollector,
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


def model_issues(out: IssueCollector, data: dict[str, Any]) -> None:
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


def settings_issues(out: IssueCollector, data: dict[str, Any]) -> None:
    general = data.get("general_settings")
    managed = f"{ENV_PREFIX}{MASTER_KEY_ENV}"
    if isinstance(general, dict) and general.get("master_key", managed) != managed:
        out.add(
            out.at(("general_settings", "master_key")),
            "general_settings.master_key is managed by the bridge; this value is replaced",
            "remove it: the bridge sets its own key for the local proxy",
            "warning",
        )
