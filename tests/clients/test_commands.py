"""The ``clients`` command handlers, the endpoint lookup and the summary text."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
from pathlib import Path

import pytest

from tests.clients.contract import tree_hash
from tray_agent.clients import ClientsError, bridge_endpoint, setup_summary
from tray_agent.clients.registry import all_clients
from tray_agent.commands import clients as cmd
from tray_agent.commands.context import CliContext, UserError
from tray_agent.paths import get_paths
from tray_agent.secrets.store import MemoryStore

KEY = "sk-it's-a-key-$HOME-`x`"


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliContext:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(tmp_path / "bridge"))
    for var in ("CODEX_HOME", "CLAUDE_CONFIG_DIR", "GEMINI_CLI_HOME", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "user").mkdir()
    c = CliContext(paths=get_paths(), out=io.StringIO(), err=io.StringIO())
    store = MemoryStore()
    store.set("master-key", KEY)
    c.__dict__["secrets"] = store
    return c


def output(ctx: CliContext) -> str:
    assert isinstance(ctx.out, io.StringIO)
    return ctx.out.getvalue()


def test_endpoint_without_agent_uses_config_port_and_stored_key(ctx: CliContext) -> None:
    ctx.paths.config_file.parent.mkdir(parents=True)
    ctx.paths.config_file.write_text("bridge:\n  port: 4123\nmodel_list: []\n")
    endpoint = bridge_endpoint(ctx)
    assert endpoint.url == "http://127.0.0.1:4123"
    assert endpoint.key == KEY


def test_endpoint_defaults_to_port_4000(ctx: CliContext) -> None:
    assert bridge_endpoint(ctx).url == "http://127.0.0.1:4000"


def test_endpoint_without_key_is_a_clients_error(ctx: CliContext) -> None:
    ctx.secrets.delete("master-key")
    with pytest.raises(ClientsError, match="no bridge key"):
        bridge_endpoint(ctx)


def test_command_turns_a_clients_refusal_into_a_user_error_with_its_hint(
    ctx: CliContext, tmp_path: Path
) -> None:
    cmd.cmd_setup(argparse.Namespace(name="codex", dry_run=False, model=None), ctx)
    changed = next(p for p in (tmp_path / "user").rglob("*") if p.is_file() and "codex" in str(p))
    changed.write_text(changed.read_text() + "\n# edited by hand\n")
    with pytest.raises(UserError, match="changed since setup") as info:
        cmd.cmd_restore(argparse.Namespace(name="codex", force=False), ctx)
    assert info.value.code == 1
    assert info.value.hint is not None and "--force" in info.value.hint


class FakeAgent:
    def call(self, method: str) -> dict[str, object]:
        replies: dict[str, dict[str, object]] = {
            "status": {"sidecar": {"url": "http://127.0.0.1:4555/"}},
            "key": {"key": "sk-from-agent"},
        }
        return replies[method]

    def close(self) -> None:
        pass


def test_endpoint_prefers_the_running_agent(
    ctx: CliContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CliContext, "agent", lambda self: FakeAgent())
    endpoint = bridge_endpoint(ctx)
    assert (endpoint.url, endpoint.key) == ("http://127.0.0.1:4555", "sk-from-agent")


def test_env_reveal_for_bash_evaluates_to_the_url_and_key(ctx: CliContext) -> None:
    assert cmd.cmd_env(argparse.Namespace(**{"shell": "bash", "reveal": True}), ctx) == 0
    assert KEY.replace("'", "'\\''") in output(ctx)  # the literal key, only when asked
    script = output(ctx) + 'printf "%s\\n" "$LITELLM_BRIDGE_API_KEY" "$OPENAI_BASE_URL" "$NO_PROXY"'
    got = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, check=True, env={"NO_PROXY": "corp"}
    ).stdout.splitlines()
    assert got == [KEY, "http://127.0.0.1:4000/v1", "127.0.0.1,localhost,corp"]


@pytest.mark.parametrize("shell", cmd.SHELLS)
def test_env_names_every_variable_for_each_shell(ctx: CliContext, shell: str) -> None:
    cmd.cmd_env(argparse.Namespace(shell=shell), ctx)
    text = output(ctx)
    for name in cmd.env_exports("http://x", "k"):
        assert name in text
    assert "NO_PROXY" in text


@pytest.mark.parametrize("shell", cmd.SHELLS)
def test_env_prints_the_key_command_not_the_key(ctx: CliContext, shell: str) -> None:
    # `litellm-bridge key` is the one command that prints the key (README).
    cmd.cmd_env(argparse.Namespace(shell=shell, reveal=False), ctx)
    text = output(ctx)
    assert KEY not in text and "sk-" not in text
    runs = [ln for ln in text.splitlines() if "tray_agent" in ln or "litellm-bridge" in ln]
    assert len(runs) == 1 and "key" in runs[0]  # fetched once, the others copy it
    for name in cmd.KEY_VARIABLES:
        assert name in text


def test_env_reference_runs_the_real_key_command_in_bash(
    ctx: CliContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A key command that is this test's stand-in for the keyring: the real CLI is run by
    # test_env_reference_form_evaluates_to_the_key_with_the_real_cli.
    helper = tmp_path / "print-key"
    helper.write_text(f"#!/bin/sh\nprintf '%s\\n' {cmd._quote('bash', KEY)}\n")
    helper.chmod(0o700)
    monkeypatch.setattr(cmd, "key_command", lambda: (str(helper), "key"))
    cmd.cmd_env(argparse.Namespace(**{"shell": "bash"}), ctx)
    script = output(ctx) + 'printf "%s\\n" "$OPENAI_API_KEY" "$GEMINI_API_KEY" "$OPENAI_BASE_URL"'
    got = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert got.stdout.splitlines() == [KEY, KEY, "http://127.0.0.1:4000/v1"]


def test_powershell_quotes_single_quotes() -> None:
    text = cmd.render_env("powershell", {"K": "a'b"})
    assert "$env:K = 'a''b'" in text


def test_setup_dry_run_prints_a_diff_and_writes_nothing(ctx: CliContext, tmp_path: Path) -> None:
    before = tree_hash(tmp_path)
    args = argparse.Namespace(name="gemini", dry_run=True, model=None)
    assert cmd.cmd_setup(args, ctx) == 0
    text = output(ctx)
    assert "+++ " in text and "GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:4000" in text
    assert KEY not in text
    assert tree_hash(tmp_path) == before


def test_setup_then_list_then_restore(ctx: CliContext, tmp_path: Path) -> None:
    before = tree_hash(tmp_path / "user")
    cmd.cmd_setup(argparse.Namespace(name="claude", dry_run=False, model=None), ctx)
    assert "created" in output(ctx) and "clients restore claude-code" in output(ctx)
    settings = json.loads((tmp_path / "user" / ".claude" / "settings.json").read_text())
    assert settings["env"]["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:4000"
    assert "key" in settings["apiKeyHelper"]
    assert KEY not in json.dumps(settings)

    ctx.out = io.StringIO()
    cmd.cmd_list(argparse.Namespace(json=True), ctx)
    rows = {r["name"]: r for r in json.loads(output(ctx))}
    assert rows["claude-code"]["configured"] is True
    assert rows["codex"]["configured"] is False
    assert set(rows) == {
        "claude-code",
        "gemini",
        "codex",
        "aider",
        "openai-sdk",
        "anthropic-sdk",
        "curl",
    }

    cmd.cmd_restore(argparse.Namespace(name="claude-code", force=False), ctx)
    assert tree_hash(tmp_path / "user") == before


def test_second_setup_says_nothing_to_change(ctx: CliContext) -> None:
    args = argparse.Namespace(name="codex", dry_run=False, model=None)
    cmd.cmd_setup(args, ctx)
    ctx.out = io.StringIO()
    cmd.cmd_setup(args, ctx)
    assert "nothing to change" in output(ctx)


def test_unknown_client_lists_the_supported_ones(ctx: CliContext) -> None:
    with pytest.raises(UserError, match="supported: claude-code, gemini, codex"):
        cmd.cmd_setup(argparse.Namespace(name="vim", dry_run=True, model=None), ctx)


def test_invalid_json_settings_are_reported_with_position(ctx: CliContext, tmp_path: Path) -> None:
    path = tmp_path / "user" / ".claude" / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_text('{\n  "a": 1,\n}\n')
    with pytest.raises(UserError, match=r"settings.json:3:1: not valid JSON"):
        cmd.cmd_setup(argparse.Namespace(name="claude-code", dry_run=True, model=None), ctx)


def test_summary_fits_90_columns_with_a_heading_and_setup_command_per_tool() -> None:
    url = "http://127.0.0.1:65000"
    text = setup_summary(url, "$LITELLM_BRIDGE_API_KEY")
    lines = text.splitlines()
    assert max(len(ln) for ln in lines) <= 88
    for client in all_clients():
        at = lines.index(client.title)  # a heading line of its own
        assert lines[at + 1] == f"  set up:  litellm-bridge clients setup {client.name}"
        block = lines[at + 1 : lines.index("", at) if "" in lines[at:] else None]
        assert all(ln.startswith("  ") for ln in block)
        # Nothing of the tool's own one-line summary is lost, only re-flowed.
        shown = " ".join(ln.strip().removesuffix("\\") for ln in block).split()
        own = client.summary(url, "$LITELLM_BRIDGE_API_KEY")
        own = own.replace(f" via `litellm-bridge clients setup {client.name}`;", "")
        assert [w for w in own.replace(";", "").split() if w not in shown] == []
    assert "    ANTHROPIC_BASE_URL=http://127.0.0.1:65000 \\" in lines
    assert "    GEMINI_API_KEY=$LITELLM_BRIDGE_API_KEY \\" in lines


def test_summary_names_every_tool_and_never_the_key() -> None:
    text = setup_summary("http://127.0.0.1:4000", "$LITELLM_BRIDGE_API_KEY")
    for title in ("Claude Code", "Gemini CLI", "Codex", "aider", "OpenAI SDK", "Anthropic SDK"):
        assert title in text
    assert "curl http://127.0.0.1:4000/v1/chat/completions" in text
    assert "sk-" not in text
