"""What a dialog may reach: paths, the agent (control channel), the secret store, the account."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tray_agent.account import Account
from tray_agent.paths import Paths, get_paths
from tray_agent.secrets import SecretStore


class AgentUnavailable(Exception):
    pass


@dataclass
class Services:
    paths: Paths = field(default_factory=get_paths)

    def call(self, method: str, timeout: float = 120.0, **params: Any) -> Any:
        """One control-channel request to the running agent (raises ControlError)."""
        from tray_agent.control.client import ControlClient

        client = ControlClient.connect(self.paths)
        if client is None:
            raise AgentUnavailable(
                "the agent is not running (start it with the tray or `litellm-bridge start`)"
            )
        with client:
            return client.call(method, timeout=timeout, **params)

    def metrics(self) -> dict[str, Any] | None:
        """The running agent's request metrics (None when no agent runs)."""
        from tray_agent.metrics import fetch_metrics

        return fetch_metrics(self.paths, timeout=5)

    @cached_property
    def secrets(self) -> SecretStore:
        from tray_agent.secrets import open_secret_store

        return open_secret_store(self.paths.keyring_namespace)

    @property
    def account(self) -> Account:
        return Account(self.paths.account_file)
