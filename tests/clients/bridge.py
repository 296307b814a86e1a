"""One real sidecar in front of the stand-in LLM, the pinned CLIs, and tool setup into a
private HOME: shared by the ``clients test`` tests and the "Set up coding tools" dialog tests.

The fixtures are session-scoped: every test file of one pytest process shares one sidecar.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.keyring import require_keyring
from tests.helpers.sidecar import Sidecar, chat_model, launch_sidecar, write_effective_config
from tests.standins.llm import StandInLLM
from tests.standins.tokens import mint
from tray_agent.clients import Target, get_client
from tray_agent.clients.setup import apply_setup, plan_setup
from tray_agent.paths import get_paths
from tray_agent.secrets import open_secret_store

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "tests" / "e2e" / "install_clis.sh"
REPLY = "stand-in says ready"
MODEL = "internal-model"


@pytest.fixture(scope="session")
def cli_bin() -> Path | None:
    """The pinned CLIs' bin directory; None without npm (their runs are then skipped)."""
    if shutil.which("npm") is None:
        return None
    done = subprocess.run(
        ["bash", str(INSTALLER)], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"installing the CLIs failed:\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def llm() -> Iterator[StandInLLM]:
    with StandInLLM(reply=REPLY, models=(MODEL,)) as server:
        yield server


@pytest.fixture(scope="session")
def sidecar(llm: StandInLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sidecar]:
    directory = tmp_path_factory.mktemp("sidecar")
    config = write_effective_config(directory, [chat_model(MODEL, llm.url + "/v1")])
    inject = {MODEL: {"token": ["token"], "literal": {"project": "proj-tools"}}}
    car = launch_sidecar(config, inject=inject)
    try:
        car.wait_ready(150)
        token, expires = mint("employee-tools", 3600)
        car.send_token(token, expires)
        yield car
    finally:
        car.stop()


def private_home(home: Path, monkeypatch: pytest.MonkeyPatch, cli_bin: Path | None) -> None:
    """``home`` as HOME, the CLIs on PATH, no tool or proxy variables inherited."""
    monkeypatch.setenv("HOME", str(home))
    drop = ("ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_", "CODEX_", "CLAUDE_", "LITELLM_BRIDGE_A")
    for name in [k for k in os.environ if k.startswith(drop)]:
        monkeypatch.delenv(name)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    if cli_bin is not None:
        monkeypatch.setenv("PATH", f"{cli_bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CI", "1")


def store_key(sidecar: Sidecar) -> None:
    """The key where the product keeps it: Claude Code's helper (`litellm-bridge key`) reads it."""
    paths = get_paths()
    paths.ensure()
    require_keyring(open_secret_store(paths.keyring_namespace)).set(
        "master-key", sidecar.master_key
    )


def key_command() -> tuple[str, ...]:
    paths = get_paths()
    return (
        "env",
        f"LITELLM_BRIDGE_HOME={paths.config_dir.parent}",
        f"PYTHONPATH={ROOT}",
        sys.executable,
        "-m",
        "tray_agent",
        "key",
    )


def set_up(name: str, sidecar: Sidecar, model: str | None = MODEL) -> None:
    store_key(sidecar)
    paths = get_paths()
    target = Target(sidecar.url, sidecar.master_key, paths, model, key_command())
    apply_setup(plan_setup(get_client(name), target))
