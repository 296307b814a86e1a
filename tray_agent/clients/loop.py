"""Refuse setups that would make the bridge call itself.

Pointing a tool at the bridge is only safe if the bridge's own upstream is somewhere else.
It loops when the sidecar would send a model's requests back to the bridge's address:
- a model in ``config.yaml`` has ``api_base``/``base_url`` (literal or ``os.environ/NAME``)
  at the bridge's host and port;
- a model has no ``api_base`` and a base-URL variable LiteLLM falls back to (e.g.
  ``OPENAI_BASE_URL``, often exported by ``clients env`` in a shell profile) points at the
  bridge in the environment the agent, and so the sidecar, inherits.
A loop turns one request into an endless chain of requests and burns the port's workers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tray_agent.clients.errors import ClientsError
from tray_agent.envref import ref_name, resolve_ref

# Variables LiteLLM reads as a provider's base URL when a model sets none.
FALLBACK_BASE_ENV = (
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_API_BASE",
    "GEMINI_API_BASE",
    "HOSTED_VLLM_API_BASE",
    "AZURE_API_BASE",
    "LITELLM_PROXY_API_BASE",
)

LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class SelfLoopError(ClientsError):
    """Setup refused: the bridge's upstream is the bridge."""


def _endpoint(url: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def _is_local(host: str) -> bool:
    if host in LOCAL_NAMES:
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified


def points_at(url: str, bridge_url: str) -> bool:
    """Whether ``url`` reaches the bridge at ``bridge_url`` (any loopback spelling)."""
    a, b = _endpoint(url), _endpoint(bridge_url)
    if a is None or b is None or a[1] != b[1]:
        return False
    return a[0] == b[0] or (_is_local(a[0]) and _is_local(b[0]))


def self_loop_reasons(bridge_url: str, config_file: Path, environ: Mapping[str, str]) -> list[str]:
    """Every reason the bridge at ``bridge_url`` would call itself; empty when it would not."""
    reasons: list[str] = []
    models = _models(config_file)
    without_base: list[str] = []
    for name, params, line in models:
        base = params.get("api_base") or params.get("base_url")
        if not base:
            without_base.append(name)
            continue
        base = str(base)
        shown = base
        if ref_name(base) is not None:
            base = str(resolve_ref(base, environ) or "")
            shown = f"{shown} (= {base!r})"
        if points_at(base, bridge_url):
            reasons.append(
                f"{config_file}:{line}: model {name!r} has api_base {shown}, the bridge itself; "
                "point it at the internal API"
            )
    if without_base or not models:
        for var in FALLBACK_BASE_ENV:
            value = environ.get(var, "")
            if value and points_at(value, bridge_url):
                who = ", ".join(repr(n) for n in without_base) or "models without api_base"
                reasons.append(
                    f"environment variable {var}={value} points at the bridge and the sidecar "
                    f"inherits it, so {who} would call the bridge itself; unset it where the "
                    "agent is started (e.g. remove `clients env` from the shell profile) or "
                    "give the models an api_base"
                )
    return reasons


def check_no_self_loop(bridge_url: str, config_file: Path, environ: Mapping[str, str]) -> None:
    reasons = self_loop_reasons(bridge_url, config_file, environ)
    if reasons:
        raise SelfLoopError(
            "refusing setup: requests would loop back into the bridge:\n  - "
            + "\n  - ".join(reasons)
        )


def _models(config_file: Path) -> list[tuple[str, dict[str, Any], int]]:
    """(model_name, litellm_params, line) for each model; unreadable configs give none."""
    try:
        text = config_file.read_text(encoding="utf-8")
    except OSError:
        return []
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        doc = YAML(typ="rt").load(text)
    except YAMLError:
        return []  # reported by config validation, not here
    if not isinstance(doc, Mapping):
        return []
    found: list[tuple[str, dict[str, Any], int]] = []
    for entry in doc.get("model_list") or []:
        if not isinstance(entry, Mapping):
            continue
        params = entry.get("litellm_params")
        if not isinstance(params, Mapping):
            continue
        line = 1
        lc = getattr(entry, "lc", None)
        if lc is not None and lc.line is not None:
            line = lc.line + 1
        found.append((str(entry.get("model_name", "?")), dict(params), line))
    return found
