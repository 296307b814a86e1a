"""``clients setup`` ends with the one command to try and the tool's first-run traps;
``clients list`` on a fresh install says what it cannot know on stdout, not as a warning."""

from __future__ import annotations

import argparse
import io
import shlex

import pytest

from tests.clients.test_commands import ctx, output  # noqa: F401
from tray_agent.clients.hints import GEMINI_TRUST
from tray_agent.clients.registry import all_clients
from tray_agent.commands import clients as cmd
from tray_agent.commands.context import CliContext

TRY = {
    "claude-code": "claude -p 'Reply with one word: ready'",
    "codex": "codex exec 'Reply with one word: ready'",
    "gemini": "gemini -p 'Reply with one word: ready'",
}


def setup(ctx: CliContext, name: str, model: str | None = None) -> list[str]:  # noqa: F811
    args = argparse.Namespace(name=name, dry_run=False, model=model)
    assert cmd.cmd_setup(args, ctx) == 0
    return output(ctx).splitlines()


@pytest.mark.parametrize("name", [c.name for c in all_clients()])
def test_every_setup_ends_with_a_command_to_try(ctx: CliContext, name: str) -> None:  # noqa: F811
    lines = setup(ctx, name)
    assert lines[-1].startswith("try: ")
    command = lines[-1].removeprefix("try: ")
    assert shlex.split(command)  # a command a shell can run as printed
    if name in TRY:
        assert command == TRY[name]
    if name == "curl":
        assert command.startswith("curl -s http://127.0.0.1:4000/v1/models")
        assert "$(litellm-bridge key)" in command  # the key itself is never printed
    if name in ("openai-sdk", "anthropic-sdk"):
        assert command.startswith("set -a; . ") and f"clients/{name}.env" in command
    # A second setup changes nothing and still says what to try.
    ctx.out = io.StringIO()
    again = setup(ctx, name)
    assert "nothing to change" in again[0] and again[-1] == lines[-1]


def test_gemini_setup_explains_the_untrusted_folder_exit(ctx: CliContext) -> None:  # noqa: F811
    lines = setup(ctx, "gemini")
    trust = [ln for ln in lines if "exits with code 55" in ln]
    assert trust == [f"note: {GEMINI_TRUST}"]
    assert "--skip-trust" in trust[0] and "GEMINI_CLI_TRUST_WORKSPACE=true" in trust[0]
    assert not any("code 55" in ln for ln in setup_other(ctx))


def setup_other(ctx: CliContext) -> list[str]:  # noqa: F811
    ctx.out = io.StringIO()
    return setup(ctx, "codex")


def test_aider_with_a_model_tries_that_model(ctx: CliContext) -> None:  # noqa: F811
    assert setup(ctx, "aider")[-1].endswith("--model openai/<model>")
    ctx.out = io.StringIO()
    assert "--model" not in setup(ctx, "aider", model="demo-chat")[-1]  # set in the config


def test_list_without_a_key_tells_on_stdout(ctx: CliContext) -> None:  # noqa: F811
    ctx.secrets.delete("master-key")
    assert cmd.cmd_list(argparse.Namespace(json=False), ctx) == 0
    assert isinstance(ctx.err, io.StringIO) and ctx.err.getvalue() == ""
    assert "? configured: not known yet: no bridge key" in output(ctx)
