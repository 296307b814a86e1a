"""A secret the agent learns while it runs never reaches its log files.

The sidecar here is a stand-in that prints the env entry it was given and exits, so the
value reaches the sidecar's captured output; the secret feed must have registered it with
the redactor by then.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from tests.agentproc import AgentProc, cli, env_for, write_config
from tests.conftest import free_port
from tests.helpers.keyring import require_keyring
from tray_agent.paths import get_paths
from tray_agent.secrets import open_secret_store

pytestmark = pytest.mark.timeout(300)

PLANTED = "planted-env-secret-9431"
PRINTER = (
    "import os, sys; print('planted:', os.environ.get('PLANTED_SECRET', '<unset>'), flush=True); "
    "sys.exit(3)"
)


def log_text(home: Path) -> str:
    return "\n".join(
        p.read_text(errors="replace") for p in sorted(get_paths().log_dir.glob("*.log*"))
    )


def test_a_secret_env_value_set_while_the_agent_runs_is_redacted_from_its_logs(
    home: Path,
) -> None:
    require_keyring(open_secret_store(get_paths().keyring_namespace))
    write_config(home, free_port())
    env = env_for(home, LITELLM_BRIDGE_SIDECAR_CMD=shlex.join([sys.executable, "-c", PRINTER]))
    agent = AgentProc(home, env=env)
    try:
        agent.wait_for(lambda s: "planted: <unset>" in log_text(home), 120, "first sidecar output")
        r = cli(home, "env", "set", "PLANTED_SECRET", "--secret", env=env, stdin=PLANTED)
        assert r.returncode == 0, r.stderr
        r = cli(home, "restart", env=env, timeout=180)
        agent.wait_for(
            lambda s: "planted: [REDACTED]" in log_text(home), 120, "sidecar output after set"
        )
    finally:
        agent.stop()
    text = log_text(home)
    assert PLANTED not in text
    assert "planted: [REDACTED]" in text
