"""Claude Code: ``settings.json`` in ``$CLAUDE_CONFIG_DIR`` (default ``~/.claude``).

The key is never written: ``apiKeyHelper`` runs the bridge's ``key`` command, so a rotated
key is picked up without running setup again. Conflicting credentials in the settings'
``env`` block are removed (restore brings them back).
"""

from __future__ import annotations

import shlex
import subprocess

from tray_agent.clients.base import ClientSetup, FileSpec, Target, env_dir, home
from tray_agent.clients.formats import REMOVE, KeyPath
from tray_agent.platform import IS_WINDOWS

# Measured on 2.1.332: this one flag stops every request that is not a model call
# (auto-updater, telemetry, error reporting, feature flags); none left the machine.
OFFLINE_ENV = {"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}

MODEL_ENV = (
    "ANTHROPIC_MODEL",
    "ANTHROPIC_DEFAULT_OPUS_MODEL",
    "ANTHROPIC_DEFAULT_SONNET_MODEL",
    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
)

# Would be sent instead of (or besides) the helper's key.
CONFLICTING_ENV = ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY")


def command_line(argv: tuple[str, ...]) -> str:
    """``argv`` as one shell command line for this OS (Claude Code runs it through a shell)."""
    if not argv:
        return "litellm-bridge key"
    if IS_WINDOWS:
        return subprocess.list2cmdline(list(argv))
    return shlex.join(argv)


class ClaudeCode(ClientSetup):
    name = "claude-code"
    title = "Claude Code"
    aliases = ("claude",)
    executables = ("claude",)

    def settings_file(self) -> FileSpec:
        return FileSpec(env_dir("CLAUDE_CONFIG_DIR", home() / ".claude") / "settings.json", "json")

    def files(self, target: Target) -> list[FileSpec]:
        values: dict[KeyPath, object] = {
            ("apiKeyHelper",): command_line(target.key_command),
            ("env", "ANTHROPIC_BASE_URL"): target.url,
        }
        for name, value in OFFLINE_ENV.items():
            values[("env", name)] = value
        for name in CONFLICTING_ENV:
            values[("env", name)] = REMOVE
        if target.model:
            for name in MODEL_ENV:
                values[("env", name)] = target.model
        spec = self.settings_file()
        return [FileSpec(spec.path, spec.format, values)]

    def summary(self, url: str, key_reference: str) -> str:
        return (
            f"ANTHROPIC_BASE_URL={url} ANTHROPIC_AUTH_TOKEN={key_reference} "
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 claude"
        )
