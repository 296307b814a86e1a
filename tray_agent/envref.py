"""``os.environ/NAME``: LiteLLM's way of naming a value kept out of the config file.

The one definition of what such a reference is and what it resolves to, below every package
that reads one (config validation and rendering, the IAM client, doctor, clients, metrics).
"""

from __future__ import annotations

from collections.abc import Mapping

ENV_PREFIX = "os.environ/"


def ref_name(value: object) -> str | None:
    """``NAME`` for a value ``os.environ/NAME``, else None."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        return value[len(ENV_PREFIX) :]
    return None


def resolve_ref(value: object, env: Mapping[str, str]) -> object:
    """What ``value`` means to the sidecar: ``os.environ/NAME`` -> ``env[NAME]`` (None when
    unset); anything else unchanged."""
    name = ref_name(value)
    if name is None:
        return value
    return env.get(name)
