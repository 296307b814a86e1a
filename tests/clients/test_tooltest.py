"""``clients setup --detected`` and ``clients test`` against a real sidecar and the stand-in LLM.

One sidecar serves the module (fixtures: tests/clients/bridge.py). Each tool is set up by
the real setup code into a private HOME, then tested with the settings read back from its
files; the real claude, gemini and codex programs (tests/e2e/install_clis.sh) answer
through the bridge where npm is here.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.clients.bridge import MODEL, REPLY, private_home, set_up
from tests.conftest import free_port
from tests.helpers.sidecar import Sidecar
from tests.standins.llm import StandInLLM
from tray_agent.clients import Target, get_client
from tray_agent.clients.registry import all_clients
from tray_agent.clients.setup import apply_setup, latest_backup, plan_setup
from tray_agent.clients.tooltest import check_tool
from tray_agent.commands import clients as cmd
from tray_agent.commands.context import CliContext
from tray_agent.paths import get_paths
from tray_agent.secrets.store import MemoryStore

TOOLS = [c.name for c in all_clients()]
PATHS = {
    "claude-code": "/v1/messages",
    "anthropic-sdk": "/v1/messages",
    "gemini": f"/v1beta/models/{MODEL}:generateContent",
    "codex": "/v1/responses",
}
"""The path each tool's request reaches the sidecar on; the others use chat completions."""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_bin: Path | None) -> dict[str, str]:
    """A private HOME and bridge home, the CLIs on PATH, no tool variables inherited."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(tmp_path / "bridge"))
    private_home(home, monkeypatch, cli_bin)
    return dict(os.environ)


@pytest.mark.parametrize("name", TOOLS)
def test_each_tool_request_goes_its_own_route_with_the_settings_it_holds(
    name: str, env: dict[str, str], sidecar: Sidecar, llm: StandInLLM
) -> None:
    set_up(name, sidecar)
    seen = len(sidecar.request_events())
    env["LITELLM_BRIDGE_API_KEY"] = sidecar.master_key  # Codex reads it from the shell
    result = check_tool(get_client(name), get_paths(), environ=env, run_binary=False)
    assert result.ok, result.line()
    assert REPLY in result.answer
    assert result.model == MODEL
    assert result.line().startswith(f"{get_client(name).title} answered in ")
    wanted = PATHS.get(name, "/v1/chat/completions")
    # Tools without a model of their own first list the served ones (GET /v1/models).
    sidecar.wait_event(lambda _: any(e["route"] == wanted for e in sidecar.request_events()[seen:]))


@pytest.mark.parametrize("name", ["claude-code", "gemini", "codex"])
def test_the_real_program_answers_after_setup(
    name: str, env: dict[str, str], sidecar: Sidecar, cli_bin: Path | None
) -> None:
    if cli_bin is None:
        pytest.skip("npm is not installed: the real CLIs are not here")
    set_up(name, sidecar)
    # Codex's key comes from the variable the shell of `clients env` sets; here the fallback
    # key the command passes when the variable is missing.
    result = check_tool(get_client(name), get_paths(), environ=env, fallback_key=sidecar.master_key)
    assert result.ok, result.line()
    assert result.binary is not None and result.binary.ok
    assert REPLY in result.binary.answer
    assert sidecar.master_key not in json.dumps(result.as_dict())


def test_a_tool_not_set_up_is_named_with_the_setup_command(env: dict[str, str]) -> None:
    result = check_tool(get_client("gemini"), get_paths(), environ=env)
    assert not result.ok
    assert result.cause == "Gemini CLI is not set up for the bridge"
    assert result.fix is not None and "clients setup gemini" in result.fix


def test_a_stale_key_in_the_tools_file_is_named(env: dict[str, str], sidecar: Sidecar) -> None:
    set_up("aider", sidecar)
    conf = Path(env["HOME"]) / ".aider.conf.yml"
    conf.write_text(conf.read_text().replace(sidecar.master_key, "sk-old-key"))
    result = check_tool(get_client("aider"), get_paths(), environ=env)
    assert not result.ok
    assert result.cause is not None and "refused the key in" in result.cause
    assert str(conf) in result.cause
    assert result.fix == "`litellm-bridge clients setup aider` again"


def test_a_model_the_bridge_does_not_serve_is_named(env: dict[str, str], sidecar: Sidecar) -> None:
    set_up("openai-sdk", sidecar, model=None)
    snippet = get_paths().config_dir / "clients" / "openai-sdk.env"
    set_up("claude-code", sidecar, model="not-served-model")
    result = check_tool(get_client("claude-code"), get_paths(), environ=env, run_binary=False)
    assert not result.ok
    assert (
        result.cause is not None and "does not serve the model 'not-served-model'" in result.cause
    )
    assert result.fix is not None and "--model" in result.fix
    # Without a model in its settings the first served one is used.
    assert snippet.is_file()
    ok = check_tool(get_client("openai-sdk"), get_paths(), environ=env)
    assert ok.ok and ok.model == MODEL


def test_no_proxy_running_is_named_with_start(env: dict[str, str], sidecar: Sidecar) -> None:
    paths = get_paths()
    paths.ensure()
    dead = f"http://127.0.0.1:{free_port()}"
    apply_setup(plan_setup(get_client("curl"), Target(dead, "sk-x", paths)))
    result = check_tool(get_client("curl"), paths, environ=env)
    assert not result.ok
    assert result.cause == f"nothing answers at {dead} (the proxy is not running there)"
    assert result.fix is not None and "litellm-bridge start" in result.fix


def test_a_proxy_variable_capturing_loopback_is_named(
    env: dict[str, str], sidecar: Sidecar
) -> None:
    set_up("curl", sidecar)
    env.update({"HTTP_PROXY": f"http://127.0.0.1:{free_port()}", "NO_PROXY": "", "no_proxy": ""})
    result = check_tool(get_client("curl"), get_paths(), environ=env)
    assert not result.ok
    assert result.cause is not None and result.cause.startswith("HTTP_PROXY sends the requests")
    assert result.fix is not None and "NO_PROXY" in result.fix


def test_codex_without_its_key_variable_says_which_variable(
    env: dict[str, str], sidecar: Sidecar
) -> None:
    set_up("codex", sidecar)
    result = check_tool(get_client("codex"), get_paths(), environ=env)
    assert not result.ok
    assert result.cause is not None and "$LITELLM_BRIDGE_API_KEY" in result.cause


def context(key: str) -> CliContext:
    ctx = CliContext(paths=get_paths(), out=io.StringIO(), err=io.StringIO())
    store = MemoryStore()
    store.set("master-key", key)
    ctx.__dict__["secrets"] = store
    return ctx


def output(ctx: CliContext) -> str:
    assert isinstance(ctx.out, io.StringIO)
    return ctx.out.getvalue()


def write_port(port: int) -> None:
    config = get_paths().config_file
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"bridge:\n  port: {port}\nmodel_list: []\n")


def test_setup_detected_dry_run_shows_every_installed_tool_with_the_key_masked(
    env: dict[str, str], sidecar: Sidecar, cli_bin: Path | None
) -> None:
    if cli_bin is None:
        pytest.skip("npm is not installed: the real CLIs are not here")
    write_port(sidecar.port)
    ctx = context(sidecar.master_key)
    args = argparse.Namespace(name=None, detected=True, dry_run=True, model=None)
    assert cmd.cmd_setup(args, ctx) == 0
    text = output(ctx)
    for title in ("Claude Code", "Gemini CLI", "Codex"):
        assert f"== {title}\n" in text
    assert "== aider" not in text or shutil.which("aider")
    assert sidecar.master_key not in text and "****" in text
    assert not (Path(env["HOME"]) / ".claude").exists()  # nothing written


def test_setup_detected_keeps_foreign_keys_and_backs_up_then_test_answers(
    env: dict[str, str], sidecar: Sidecar, cli_bin: Path | None
) -> None:
    if cli_bin is None:
        pytest.skip("npm is not installed: the real CLIs are not here")
    write_port(sidecar.port)
    settings = Path(env["HOME"]) / ".claude" / "settings.json"
    settings.parent.mkdir()
    mine = {"theme": "dark", "env": {"MY_FLAG": "1"}, "permissions": {"allow": ["Bash(ls)"]}}
    settings.write_text(json.dumps(mine))
    ctx = context(sidecar.master_key)
    args = argparse.Namespace(name=None, detected=True, dry_run=False, model=MODEL)
    assert cmd.cmd_setup(args, ctx) == 0
    written = json.loads(settings.read_text())
    assert written["theme"] == "dark" and written["permissions"] == mine["permissions"]
    assert written["env"]["MY_FLAG"] == "1"
    assert written["env"]["ANTHROPIC_BASE_URL"] == sidecar.url
    for name in ("claude-code", "gemini", "codex"):
        assert latest_backup(get_paths(), name) is not None
    ctx2 = context(sidecar.master_key)
    test_args = argparse.Namespace(name="gemini", json=True, no_run=True, timeout=60.0)
    assert cmd.cmd_test(test_args, ctx2) == 0
    report = json.loads(output(ctx2))
    assert report["ok"] and report["route"] == "gemini" and REPLY in report["answer"]


def test_setup_needs_a_name_or_detected(env: dict[str, str]) -> None:
    from tray_agent.commands.context import UserError

    args = argparse.Namespace(name=None, detected=False, dry_run=True, model=None)
    with pytest.raises(UserError, match="name one tool or use --detected"):
        cmd.cmd_setup(args, context("sk-x"))
