"""The IAM client as the bridge builds it from config.yaml: one function for every caller.

The agent (:mod:`tray_agent.token.agent_link`), ``litellm-bridge token`` without an agent and
doctor all build the client here, so ``os.environ/NAME`` in ``bridge.iam`` (a
``client_secret``, a header) means the same thing with and without a running agent: what the
sidecar would see, the process environment with the enabled env entries on top.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tray_agent.token.iam.base import Clock, Iam
from tray_agent.token.iam.factory import make_iam, validated_profile
from tray_agent.token.profiles import IamProfile, JsonIamProfile, OAuth2PasswordIamProfile


def sidecar_environ(
    env_entries: Mapping[str, str], process_env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment ``os.environ/NAME`` is resolved against: what the sidecar sees.

    The process environment (``os.environ`` unless given), then the enabled env entries,
    which win: the agent starts the sidecar the same way (its environment updated with
    ``Prepared.env``).
    """
    env = dict(os.environ if process_env is None else process_env)
    env.update(env_entries)
    return env


def iam_from_config(
    iam_section: IamProfile | Mapping[str, Any],
    env_entries: Mapping[str, str],
    config_dir: Path,
    *,
    process_env: Mapping[str, str] | None = None,
    clock: Clock = time.time,
) -> Iam:
    """The IAM client for ``bridge.iam`` (raw mapping or validated profile).

    ``env_entries`` are the enabled env entries (name -> value); ``os.environ/NAME`` values
    are resolved against :func:`sidecar_environ` of them. A relative ``ca_bundle`` is taken
    relative to ``config_dir`` (the folder of config.yaml). Raises ``IamConfigError`` for a
    reference that resolves to nothing and ``ValueError`` for a profile that does not fit.
    """
    env = sidecar_environ(env_entries, process_env)
    return make_iam(iam_section, env, clock=clock, base_dir=config_dir)


def iam_endpoint(
    iam_section: IamProfile | Mapping[str, Any], config_dir: Path
) -> tuple[str, str | None]:
    """(the URL signed in against, the CA bundle path) without resolving any secret.

    For checks that only reach the IAM (doctor): a missing env entry must not hide whether
    the IAM answers.
    """
    profile = validated_profile(iam_section, config_dir)
    if isinstance(profile, JsonIamProfile):
        return profile.url, profile.ca_bundle
    assert isinstance(profile, OAuth2PasswordIamProfile)
    return profile.token_url, profile.ca_bundle
