"""The real CLIs (pinned npm versions), set up by ``clients setup``, answer through the bridge.

Each CLI runs one-shot in a temporary HOME against a real sidecar in front of the stand-in
internal LLM; the stand-in must see a valid token and the project on every request,
streaming included. The CLIs are installed by tests/e2e/install_clis.sh (npm; cached in
.cache/npm-clis); without npm the module is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.keyring import require_keyring
from tests.helpers.sidecar import Sidecar, launch_sidecar
from tests.sidecar.differential import compact_json
from tests.standins.llm import StandInLLM
from tests.standins.tokens import mint, verify
from tray_agent.clients import KEY_ENV, Target, get_client
from tray_agent.clients.setup import apply_setup, plan_setup
from tray_agent.config.render import render_data
from tray_agent.paths import get_paths
from tray_agent.secrets import open_secret_store

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "tests" / "e2e" / "install_clis.sh"
PROJECT = "proj-e2e"
REPLY = "stand-in says hello"
CLI_TIMEOUT = 120

# Model names each pinned CLI asks for when the user configured none (measured against a
# recording server): the shipped template's "*" entry must serve them.
DEFAULT_MODELS = {
    "claude-code": ("claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5"),
    "gemini": ("gemini-3.1-pro-preview", "gemini-3.5-flash-lite", "gemini-2.5-pro"),
    "codex": ("gpt-6.2-sol",),
}
# The sidecar runs the shipped template, rendered by the agent's own code, against the
# stand-in: every name lands on the template's one internal model.
TEMPLATE = ROOT / "config_templates" / "openai-compatible.yaml"
INTERNAL = "corp-llm"


@pytest.fixture(scope="module")
def cli_bin() -> Path:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    done = subprocess.run(
        ["bash", str(INSTALLER)], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"installing the CLIs failed:\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def llm() -> Iterator[StandInLLM]:
    with StandInLLM(reply=REPLY, models=(INTERNAL,), project_field="project") as server:
        yield server


def template_config(directory: Path, api_base: str) -> tuple[Path, dict[str, Any]]:
    """The shipped template with the stand-in as its upstream, rendered as the agent does."""
    data = yaml.safe_load(TEMPLATE.read_text())
    for entry in data["model_list"]:
        entry["litellm_params"]["api_base"] = api_base
    effective, inject = render_data(data)
    path = directory / "effective-config.yaml"
    path.write_text(yaml.safe_dump(effective, sort_keys=False))
    path.chmod(0o600)
    return path, dict(inject)


@pytest.fixture(scope="module")
def sidecar(llm: StandInLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    directory = tmp_path_factory.mktemp("sidecar")
    config, inject = template_config(directory, llm.url + "/v1")
    env = {"CORP_LLM_KEY": "none", "CORP_PROJECT": PROJECT}
    car = launch_sidecar(config, inject=inject, extra_env=env)
    try:
        car.wait_ready(150)
        token, expires = mint("employee-e2e", 3600)
        car.send_token(token, expires)  # returns once the sidecar acknowledged it
        yield car
    finally:
        car.stop()


@dataclass
class Run:
    home: Path
    env: dict[str, str]
    cwd: Path


@pytest.fixture
def run_env(
    tmp_path: Path, cli_bin: Path, sidecar: Sidecar, monkeypatch: pytest.MonkeyPatch
) -> Run:
    """A private HOME and bridge home; the parent's tool variables are not inherited."""
    home = tmp_path / "home"
    work = home / "work"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(tmp_path / "bridge"))
    for var in ("CODEX_HOME", "CLAUDE_CONFIG_DIR", "GEMINI_CLI_HOME"):
        monkeypatch.delenv(var, raising=False)
    drop = ("ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_", "CODEX_", "CLAUDE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        {
            "HOME": str(home),
            "PATH": f"{cli_bin}{os.pathsep}{env.get('PATH', '')}",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "CI": "1",
        }
    )
    return Run(home, env, work)


def setup_client(name: str, sidecar: Sidecar, model: str | None = None) -> None:
    paths = get_paths()
    paths.ensure()
    # The key lives where the product keeps it (the keyring); the CLIs get it from the real
    # helper, `litellm-bridge key`, reading the relocated home's keyring.
    store = require_keyring(open_secret_store(paths.keyring_namespace))
    store.set("master-key", sidecar.master_key)
    key_command: tuple[str, ...] = (
        "env",
        f"LITELLM_BRIDGE_HOME={paths.config_dir.parent}",
        f"PYTHONPATH={ROOT}",
        sys.executable,
        "-m",
        "tray_agent",
        "key",
    )
    target = Target(
        url=sidecar.url,
        key=sidecar.master_key,
        paths=paths,
        model=model,
        key_command=key_command,
    )
    apply_setup(plan_setup(get_client(name), target))


def run_cli(run: Run, argv: list[str], extra_env: dict[str, str] | None = None) -> str:
    started = time.monotonic()
    done = subprocess.run(
        argv,
        cwd=run.cwd,
        env={**run.env, **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    took = time.monotonic() - started
    assert done.returncode == 0, (
        f"{argv[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    assert took < 60, f"{argv[0]} took {took:.0f} s (waiting for the network?)"
    return done.stdout


def assert_every_request_authorized(llm: StandInLLM, since: int) -> list[dict[str, Any]]:
    bodies = [r.body for r in llm.requests[since:] if r.path.endswith("/chat/completions")]
    assert bodies, "the stand-in saw no completion request"
    for body in bodies:
        assert isinstance(body, dict)
        assert verify(body.get("token", "")) is not None, "request without a valid token"
        assert body.get("project") == PROJECT, "request without the project"
    return bodies


def test_claude_code_answers_through_the_bridge(
    run_env: Run, sidecar: Sidecar, llm: StandInLLM
) -> None:
    setup_client("claude-code", sidecar)
    since = len(llm.requests)
    out = run_cli(run_env, ["claude", "-p", "say hi"])
    assert REPLY in out
    bodies = assert_every_request_authorized(llm, since)
    assert any(b.get("stream") for b in bodies), "Claude Code streams its answers"
    assert {b["model"] for b in bodies} == {INTERNAL}
    assert_fast_path(llm, since, sidecar, "/v1/messages", DEFAULT_MODELS["claude-code"])


def assert_fast_path(
    llm: StandInLLM, since: int, sidecar: Sidecar, route: str, names: tuple[str, ...]
) -> None:
    """Every upstream request came from the fast path (docs/FAST_PATH.md): the bytes show
    who sent them; the request events name the route and the wildcard name the CLI asked for."""
    sent = [r for r in llm.requests[since:] if r.path.endswith("/chat/completions")]
    by_litellm = [sorted(r.body) for r in sent if not compact_json(r.raw)]
    assert by_litellm == [], f"requests on {route} went through LiteLLM"
    events = [e for e in sidecar.request_events() if e.get("route", "").startswith(route)]
    assert events and {e["model"] for e in events} <= set(names)


def test_gemini_cli_answers_through_the_bridge(
    run_env: Run, sidecar: Sidecar, llm: StandInLLM
) -> None:
    # With no model set, 0.61.0 first asks a classifier model for JSON to pick a model; the
    # stand-in answers prose, which costs a minute of retries. Setting the model skips it.
    setup_client("gemini", sidecar, model=INTERNAL)
    since = len(llm.requests)
    out = run_cli(run_env, ["gemini", "-p", "say hi"], {"GEMINI_CLI_TRUST_WORKSPACE": "true"})
    assert REPLY in out
    bodies = assert_every_request_authorized(llm, since)
    assert any(b.get("stream") for b in bodies), "Gemini CLI streams its answers"


def test_codex_answers_through_the_bridge(run_env: Run, sidecar: Sidecar, llm: StandInLLM) -> None:
    setup_client("codex", sidecar)
    since = len(llm.requests)
    out = run_cli(
        run_env,
        ["codex", "exec", "--skip-git-repo-check", "say hi"],
        {KEY_ENV: sidecar.master_key},
    )
    assert REPLY in out
    bodies = assert_every_request_authorized(llm, since)
    assert {b["model"] for b in bodies} == {INTERNAL}
    assert any(b.get("stream") for b in bodies), "Codex streams its answers"
    assert_fast_path(llm, since, sidecar, "/v1/responses", DEFAULT_MODELS["codex"])
