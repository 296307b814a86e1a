"""Turn config.yaml + env entries into what a sidecar needs (the ``Prepared`` bundle)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore


@dataclass
class Issue:
    file: str
    line: int | None
    column: int | None
    message: str
    hint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        loc = self.file
        if self.line is not None:
            loc += f":{self.line}"
            if self.column is not None:
                loc += f":{self.column}"
        return f"{loc}: {self.message}"


class ConfigInvalid(Exception):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(str(i) for i in issues[:3]))
        self.issues = issues


@dataclass
class Prepared:
    effective_yaml: str
    inject: dict[str, Any]
    port: int
    env: dict[str, str]
    model_names: list[str] = field(default_factory=list)
    iam: Any = None
    notify_before: float = 300.0
    secret_values: list[str] = field(default_factory=list)
    # Problems that did not stop the config from being applied (e.g. a stored env entry
    # that cannot be passed to a process and was left out); shown in status.
    warnings: list[Issue] = field(default_factory=list)
    # The validated ``bridge:`` section (config.schema.BridgeSection), None in unit tests.
    bridge: Any = None

    def _bridge_data(self) -> dict[str, Any]:
        if self.bridge is None:
            return {"iam": _dump(self.iam), "notify_before": self.notify_before}
        data: dict[str, Any] = self.bridge.model_dump(mode="json")
        return data

    @property
    def sidecar_limits(self) -> dict[str, Any]:
        """``bridge.sidecar`` (start limits): part of what a sidecar is started with."""
        return dict(self._bridge_data().get("sidecar") or {})

    @property
    def apply_digest(self) -> str:
        """Everything a sidecar is started with: a change needs a new sidecar (a swap)."""
        blob = json.dumps(
            [
                self.effective_yaml,
                self.inject,
                self.port,
                sorted(self.env.items()),
                self.sidecar_limits,
            ],
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    @property
    def digest(self) -> str:
        """The whole config, ``bridge:`` included: a change is announced as config_changed."""
        blob = json.dumps([self.apply_digest, self._bridge_data()], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


def _dump(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else value


def prepare(paths: Paths, secrets: SecretStore) -> Prepared:
    """Validate config.yaml against the env store and render the effective config.

    Raises ConfigInvalid with located issues; never returns a half-valid result.
    """
    from tray_agent.core.configadapter import prepare_from_files

    return prepare_from_files(paths, secrets)
