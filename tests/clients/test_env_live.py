"""``clients env`` with the real CLI: the exports fetch the key from ``litellm-bridge key``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import AgentProc, cli, write_config
from tests.conftest import free_port

pytestmark = pytest.mark.timeout(200)
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentProc]:
    home = tmp_path_factory.mktemp("env-home")
    write_config(home, free_port())
    a = AgentProc(home, start_sidecar=False)
    try:
        a.wait_for(lambda s: s["agent"] is not None, timeout=60, what="agent up")
        yield a
    finally:
        a.stop()


@pytest.mark.skipif(not (BIN / "litellm-bridge").exists(), reason="CLI entry point not installed")
def test_eval_of_clients_env_in_bash_sets_the_key_it_never_printed(agent: AgentProc) -> None:
    env = {**agent.env, "PATH": f"{BIN}{os.pathsep}{agent.env.get('PATH', '')}"}
    key = cli(agent.home, "key", env=env).stdout.strip()
    assert len(key) >= 16
    printed = subprocess.run(
        ["litellm-bridge", "clients", "env", "--shell", "bash"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert key not in printed
    got = subprocess.run(
        ["bash", "-c", 'eval "$(litellm-bridge clients env --shell bash)"; echo "$OPENAI_API_KEY"'],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert got == key
    revealed = cli(agent.home, "clients", "env", "--shell", "bash", "--reveal", env=env).stdout
    assert f"export OPENAI_API_KEY='{key}'" in revealed
