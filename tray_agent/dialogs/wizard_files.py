"""What the first-run wizard reads and writes, without any Tk: account, config, env values.

Kept apart from the wizard's widgets so each step's effect on disk can be tested (and
reasoned about) without a display; the steps only call these from their background work.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tray_agent.account import Account
from tray_agent.config import yamlload
from tray_agent.config.backup import replace_config
from tray_agent.config.templates import Template, instantiate
from tray_agent.envstore import EnvStore, NewValue
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore


def create_account(paths: Paths, password: str) -> None:
    """Create the local account (the home's directories first, on a fresh machine)."""
    paths.ensure()
    Account(paths.account_file).create(password)


def write_config_from_template(paths: Paths, template: Template, port: int) -> Path | None:
    """config.yaml from ``template`` on ``port``; returns the backup of the file it replaced.

    The same locked backup-then-write as ``init --force``.
    """
    paths.ensure()
    return replace_config(paths.config_file, instantiate(template.text(), port), force=True)


def config_data(paths: Paths) -> dict[str, Any]:
    """config.yaml as a mapping; empty when missing, unreadable or not a mapping."""
    try:
        data = yamlload.load_file(paths.config_file)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def missing_env_names(paths: Paths, preset: Iterable[str] = ()) -> list[str]:
    """The env entries config.yaml references that neither the env store nor the policy
    (``preset``: the names its ``env`` sets) has."""
    from tray_agent.config.refs import env_names
    from tray_agent.config.validate import EXEMPT_ENV

    try:
        have = EnvStore(paths.env_file, None).enabled_names()
    except Exception:
        have = set()
    return sorted(env_names(config_data(paths)) - EXEMPT_ENV - have - set(preset))


def save_env_values(paths: Paths, secrets: SecretStore, values: Iterable[NewValue]) -> None:
    """Store the values the wizard collected, in one all-or-nothing write."""
    EnvStore(paths.env_file, secrets).set_many(values)


def needs_sign_in(paths: Paths) -> bool:
    """Whether config.yaml configures an IAM sign-in (``bridge.iam``)."""
    bridge = config_data(paths).get("bridge") or {}
    return isinstance(bridge, dict) and bool(bridge.get("iam"))
