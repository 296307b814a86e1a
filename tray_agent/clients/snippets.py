"""Shared shape of the SDK and curl setups: an env snippet file owned by the bridge.

SDKs have no settings file of their own; setup writes ``<config dir>/clients/<name>.env``
for ``set -a; . FILE; set +a`` (or python-dotenv), keeping any lines the user added.
"""

from __future__ import annotations

from tray_agent.clients.base import ClientSetup, FileSpec, Target
from tray_agent.clients.formats import KeyPath


class SnippetSetup(ClientSetup):
    def variables(self, target: Target) -> dict[str, str]:
        raise NotImplementedError

    def files(self, target: Target) -> list[FileSpec]:
        values: dict[KeyPath, object] = {(k,): v for k, v in self.variables(target).items()}
        path = target.paths.config_dir / "clients" / f"{self.name}.env"
        return [FileSpec(path, "dotenv", values, secret=True)]

    def notes(self, target: Target) -> list[str]:
        path = self.files(target)[0].path
        return [f"load it with: set -a; . '{path}'; set +a"]
