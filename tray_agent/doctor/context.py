"""What the checks look at: files, keyring, environment, and the running agent when there is one."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore

Status = Literal["pass", "warn", "fail", "skip"]


@dataclass
class CheckResult:
    id: str
    title: str
    status: Status
    detail: str
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "fix": self.fix,
            "data": self.data,
        }


@dataclass
class DoctorContext:
    paths: Paths
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    status: dict[str, Any] | None = None  # the agent's status, when one runs
    proxy_key: str | None = None  # the agent's master key, when one runs
    secret_store: Callable[[], SecretStore] | None = None
    clock: Callable[[], float] = time.time
    timeout: float = 5.0
    request_timeout: float = 60.0
    _secrets: SecretStore | None = None
    _secrets_error: str | None = None
    _rendered: Any = None
    _render_error: str | None = None
    _rendered_loaded: bool = False
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def agent_running(self) -> bool:
        return self.status is not None

    def secrets(self) -> SecretStore | None:
        """The secret store (opened once); None when it cannot be opened."""
        if self._secrets is None and self._secrets_error is None:
            try:
                if self.secret_store is not None:
                    self._secrets = self.secret_store()
                else:
                    from tray_agent.secrets import open_secret_store

                    self._secrets = open_secret_store(self.paths.keyring_namespace)
            except Exception as exc:
                self._secrets_error = str(exc) or type(exc).__name__
        return self._secrets

    def rendered(self) -> Any:
        """``config.render.Rendered`` for config.yaml, or None (see ``render_error``)."""
        if not self._rendered_loaded:
            self._rendered_loaded = True
            from tray_agent.config.issues import ConfigInvalid
            from tray_agent.config.render import render_effective

            try:
                self._rendered = render_effective(self.paths.config_file)
            except ConfigInvalid as exc:
                self._render_error = str(exc)
            except Exception as exc:
                self._render_error = f"{type(exc).__name__}: {exc}"
        return self._rendered

    @property
    def render_error(self) -> str | None:
        self.rendered()
        return self._render_error

    def raw_config(self) -> dict[str, Any] | None:
        try:
            data = yaml.safe_load(self.paths.config_file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            return None
        return data if isinstance(data, dict) else None

    def port(self) -> int:
        if self.status is not None:
            return int(self.status["sidecar"]["port"])
        r = self.rendered()
        if r is not None:
            return int(r.port)
        from tray_agent.config.schema import DEFAULT_PORT

        return DEFAULT_PORT
