"""From a ``bridge.iam`` profile to the dialect that speaks it (:func:`make_iam`).

``os.environ/NAME`` values in the profile are resolved here, through :mod:`tray_agent.envref`,
against the env the caller passes (see :mod:`tray_agent.token.iam.from_config` for which one).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from tray_agent.envref import ref_name, resolve_ref
from tray_agent.token.iam.base import Clock, Iam
from tray_agent.token.iam.errors import IamConfigError
from tray_agent.token.iam.json_dialect import JsonIam
from tray_agent.token.iam.oauth2_password import OAuth2PasswordIam
from tray_agent.token.profiles import IamProfile, JsonIamProfile, OAuth2PasswordIamProfile


def make_iam(
    profile: IamProfile | Mapping[str, Any],
    env: Mapping[str, str],
    *,
    clock: Clock = time.time,
    base_dir: Path | None = None,
) -> Iam:
    """Build the dialect for ``profile``; ``os.environ/NAME`` values are read from ``env``.

    A relative ``ca_bundle`` is taken relative to ``base_dir`` (the config file's folder).
    """
    profile = validated_profile(profile, base_dir)
    if isinstance(profile, JsonIamProfile):
        headers = {k: resolve_env_ref(v, env, f"headers.{k}") for k, v in profile.headers.items()}
        return JsonIam(profile, headers, clock)
    if isinstance(profile, OAuth2PasswordIamProfile):
        secret = None
        if profile.client_secret is not None:
            secret = resolve_env_ref(profile.client_secret, env, "client_secret")
        return OAuth2PasswordIam(profile, secret, clock)
    raise IamConfigError(f"unknown IAM profile kind {type(profile).__name__}")


def validated_profile(
    profile: IamProfile | Mapping[str, Any], base_dir: Path | None = None
) -> JsonIamProfile | OAuth2PasswordIamProfile:
    """The profile as a model, a relative ``ca_bundle`` taken relative to ``base_dir``.

    Raises pydantic's ``ValidationError`` (a ``ValueError``) for a profile that does not fit.
    """
    if isinstance(profile, Mapping):
        profile = TypeAdapter(IamProfile).validate_python(dict(profile))
    if profile.ca_bundle and base_dir is not None:
        bundle = Path(profile.ca_bundle).expanduser()
        if not bundle.is_absolute():
            profile = profile.model_copy(update={"ca_bundle": str(base_dir / bundle)})
    return profile


def resolve_env_ref(value: str, env: Mapping[str, str], field: str) -> str:
    """``os.environ/NAME`` -> env[NAME]; other values unchanged."""
    name = ref_name(value)
    if name is None:
        return value
    resolved = resolve_ref(value, env)
    if not isinstance(resolved, str):
        raise IamConfigError(
            f"bridge.iam.{field} refers to the env entry {name}, which is not set or not "
            f"enabled; add it to the env store (or the environment) and try again"
        )
    return resolved
