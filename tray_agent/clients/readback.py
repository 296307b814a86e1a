"""A tool's bridge settings as its own files hold them: what ``clients test`` sends with.

Reading back what setup wrote (rather than reusing the values setup was given) is the point:
a file edited by hand, a stale key or a base URL left over from an older port shows up as
the tool would see it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tray_agent.clients.base import KEY_ENV, URL_ENV, ClientSetup, Target
from tray_agent.clients.errors import ClientsError
from tray_agent.clients.formats import FORMATS, MISSING
from tray_agent.paths import Paths

Route = Literal["messages", "gemini", "responses", "chat"]

ROUTES: dict[str, Route] = {
    "claude-code": "messages",
    "anthropic-sdk": "messages",
    "gemini": "gemini",
    "codex": "responses",
}
"""How each tool talks to the bridge; the others use OpenAI chat completions."""

HELPER_TIMEOUT = 15.0


@dataclass(frozen=True)
class ToolSettings:
    """What a tool would send: the base URL (as the tool writes it), key and default model."""

    url: str
    key: str | None
    model: str | None
    where: str
    """The file (or variable) the values came from, for messages."""
    notes: list[str] = field(default_factory=list)
    key_problem: str | None = None


def route_of(client: ClientSetup) -> Route:
    return ROUTES.get(client.name, "chat")


def _load(path: Path, fmt_name: str) -> tuple[Any, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ClientsError(f"cannot read {path}: {exc.strerror or exc}") from exc
    fmt = FORMATS[fmt_name]()
    return fmt, fmt.load(text, str(path))


def _get(loaded: tuple[Any, Any] | None, *path: str) -> Any:
    if loaded is None:
        return None
    fmt, doc = loaded
    value = fmt.get(doc, path)
    return None if value is MISSING else value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def run_key_helper(command: str, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Run an ``apiKeyHelper`` the way Claude Code does (through the shell): (key, problem)."""
    try:
        # Claude Code runs the helper through the user's shell; so does this.
        done = subprocess.run(  # noqa: S602
            command,
            shell=True,
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT,
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"the key helper ({command}) gave no key within {HELPER_TIMEOUT:.0f} s"
    key = done.stdout.strip()
    if done.returncode != 0 or not key:
        tail = (done.stderr.strip().splitlines() or [""])[-1][:200]
        return None, f"the key helper ({command}) exited {done.returncode}: {tail}"
    return key, None


def read_settings(
    client: ClientSetup,
    paths: Paths,
    environ: Mapping[str, str] | None = None,
    *,
    resolve_key: bool = True,
) -> ToolSettings | None:
    """The bridge settings ``client``'s files hold now, or None when it is not set up.

    ``resolve_key=False`` skips running Claude Code's key helper (for listing states).
    """
    env = os.environ if environ is None else environ
    specs = client.files(Target(url="http://unused", key="", paths=paths))
    loaded = [_load(s.path, s.format) for s in specs]
    first = specs[0].path
    if client.name == "claude-code":
        doc = loaded[0]
        url = _text(_get(doc, "env", "ANTHROPIC_BASE_URL"))
        if url is None:
            return None
        helper = _text(_get(doc, "apiKeyHelper"))
        key: str | None = None
        problem = None
        if helper and resolve_key:
            key, problem = run_key_helper(helper, env)
        else:
            key = _text(_get(doc, "env", "ANTHROPIC_AUTH_TOKEN")) or _text(
                _get(doc, "env", "ANTHROPIC_API_KEY")
            )
        model = _text(_get(doc, "env", "ANTHROPIC_MODEL"))
        return ToolSettings(url, key, model, str(first), key_problem=problem)
    if client.name == "gemini":
        settings, dotenv = loaded
        url = _text(_get(dotenv, "GOOGLE_GEMINI_BASE_URL"))
        if url is None:
            return None
        key = _text(_get(dotenv, "GEMINI_API_KEY"))
        model = _text(_get(settings, "model", "name"))
        return ToolSettings(url, key, model, str(specs[1].path))
    if client.name == "codex":
        doc = loaded[0]
        provider = _text(_get(doc, "model_provider"))
        if provider is None:
            return None
        url = _text(_get(doc, "model_providers", provider, "base_url"))
        if url is None:
            return None
        env_key = _text(_get(doc, "model_providers", provider, "env_key")) or KEY_ENV
        key = env.get(env_key) or None
        problem = None
        if key is None:
            problem = (
                f"Codex reads the key from ${env_key}, which is not set here: "
                'eval "$(litellm-bridge clients env)" in the shell that runs codex'
            )
        model = _text(_get(doc, "model"))
        return ToolSettings(url, key, model, str(first), key_problem=problem)
    if client.name == "aider":
        doc = loaded[0]
        url = _text(_get(doc, "openai-api-base"))
        if url is None:
            return None
        model = _text(_get(doc, "model"))
        if model and model.startswith("openai/"):
            model = model.removeprefix("openai/")
        return ToolSettings(url, _text(_get(doc, "openai-api-key")), model, str(first))
    # The snippet setups: one env file.
    doc = loaded[0]
    names = {
        "openai-sdk": ("OPENAI_BASE_URL", "OPENAI_API_KEY"),
        "anthropic-sdk": ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"),
        "curl": (URL_ENV, KEY_ENV),
    }.get(client.name)
    if names is None:
        raise ClientsError(f"no test for {client.name}")
    url = _text(_get(doc, names[0]))
    if url is None:
        return None
    return ToolSettings(url, _text(_get(doc, names[1])), None, str(first))
