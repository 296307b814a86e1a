"""Where the bridge is reachable and with which key: the one place that decides it."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tray_agent.clients.errors import ClientsError
from tray_agent.paths import Paths
from tray_agent.platform import IS_WINDOWS
from tray_agent.secrets import SecretStore

DEFAULT_PORT = 4000


@dataclass(frozen=True)
class Endpoint:
    url: str
    key: str


def configured_port(config_file: Path) -> int:
    """``bridge.port`` from config.yaml, or the default when absent or unreadable."""
    import yaml

    from tray_agent.config import yamlload

    try:
        doc = yamlload.load_file(config_file)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return DEFAULT_PORT
    port = (doc or {}).get("bridge", {}).get("port") if isinstance(doc, dict) else None
    return port if isinstance(port, int) and 0 < port < 65536 else DEFAULT_PORT


class EndpointSources(Protocol):
    """Where the endpoint is looked up: the home, its secrets and the running agent (if any).

    ``tray_agent.commands.context.CliContext`` is one; a Protocol keeps this module below
    the command layer.
    """

    @property
    def paths(self) -> Paths: ...

    @property
    def secrets(self) -> SecretStore: ...

    def agent(self) -> Any | None: ...


def bridge_endpoint(ctx: EndpointSources) -> Endpoint:
    """The running agent's URL and key when an agent runs, else config port + stored key."""
    url: str | None = None
    key: str | None = None
    client: Any = ctx.agent()
    if client is not None:
        try:
            status = client.call("status") or {}
            url = (status.get("sidecar") or {}).get("url")
            key = (client.call("key") or {}).get("key")
        finally:
            client.close()
    if not url:
        url = f"http://127.0.0.1:{configured_port(ctx.paths.config_file)}"
    if not key:
        key = ctx.secrets.get("master-key")
    if not key:
        raise ClientsError(
            "no bridge key yet: start the agent once (`litellm-bridge run` or the tray) "
            "so it creates one"
        )
    return Endpoint(url.rstrip("/"), key)


def key_command() -> tuple[str, ...]:
    """A command that prints the bridge key, for tools that run a key helper."""
    exe = shutil.which("litellm-bridge")
    if exe:
        argv: tuple[str, ...] = (exe, "key")
    elif getattr(sys, "frozen", False):
        from tray_agent.update.boot import stable_executable

        argv = (stable_executable(), "key")
    else:
        argv = (sys.executable, "-m", "tray_agent", "key")
    home = os.environ.get("LITELLM_BRIDGE_HOME")
    if home:
        # The helper runs from the tool's environment, which may lack the relocated home.
        if IS_WINDOWS:
            return argv  # cmd has no inline env syntax; the tool inherits the user's env
        return ("env", f"LITELLM_BRIDGE_HOME={home}", *argv)
    return argv
