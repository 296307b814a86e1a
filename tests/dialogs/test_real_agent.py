"""The Environment editor and Status dialogs against a real agent, the real env store and
the real keyring (the other dialog tests script the agent and keep secrets in memory)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agentproc import AgentProc, cli, write_config
from tests.conftest import free_port
from tests.dialogs.conftest import Harness, press
from tests.helpers.keyring import require_keyring
from tray_agent.dialogs.env_editor import MASK, EnvDialog
from tray_agent.dialogs.services import Services
from tray_agent.dialogs.status import StatusDialog
from tray_agent.envstore import secret_key
from tray_agent.paths import get_paths
from tray_agent.secrets import open_secret_store

pytestmark = [pytest.mark.gui, pytest.mark.timeout(400)]

SECRET_NAME = "DLG_UPSTREAM_KEY"
SECRET_VALUE = "sk-typed-in-the-dialog-4f1c"


@pytest.fixture
def agent_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="lb-real-"))
    home = root / "litellm-bridge"
    home.mkdir()
    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(home))
    yield home
    shutil.rmtree(root, ignore_errors=True)


def services_for(home: Path) -> Services:
    return Services(paths=get_paths({"LITELLM_BRIDGE_HOME": str(home)}))


def chat(agent: AgentProc, url: str, key: str) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )


def test_env_editor_saves_to_the_real_store_and_keyring_and_the_agent_applies_it(
    ui: Harness, agent_home: Path
) -> None:
    services = services_for(agent_home)
    keyring = require_keyring(services.secrets)
    # The config needs the secret: until the dialog saves it, the proxy cannot start.
    port = free_port()
    write_config(
        agent_home,
        port,
        extra_models=[
            {
                "model_name": "needs-key",
                "litellm_params": {
                    "model": "openai/needs-key",
                    "mock_response": "x",
                    "api_key": f"os.environ/{SECRET_NAME}",
                },
            }
        ],
    )
    agent = AgentProc(agent_home)
    try:
        agent.wait_for(lambda s: s["config"]["valid"] is False, timeout=120, what="invalid")
        dlg = ui.open(EnvDialog, {}, services)
        assert isinstance(dlg, EnvDialog)
        dlg.new()
        dlg.name.var.set(SECRET_NAME)
        dlg.value.var.set(SECRET_VALUE)
        dlg.secret.set(True)
        press(dlg.value.entry, "Return")
        ui.until(lambda: SECRET_NAME in dlg.table.get_children(), what="the saved entry")
        assert dlg.table.item(SECRET_NAME, "values")[0] == MASK
        # In the OS keyring, as another process reads it; never in env.json.
        fresh = open_secret_store(get_paths().keyring_namespace)
        assert fresh.persistent and keyring.persistent
        assert fresh.get(secret_key(SECRET_NAME)) == SECRET_VALUE
        assert SECRET_VALUE not in services.paths.env_file.read_text()
        listed = cli(agent_home, "env", "list", env=agent.env)
        assert SECRET_NAME in listed.stdout and SECRET_VALUE not in listed.stdout
        # The running agent read it from the keyring: the config is valid and the proxy up.
        s = agent.wait_running()
        assert s["config"]["valid"] is True, s["config"]
        key = cli(agent_home, "key", env=agent.env).stdout.strip()
        assert chat(agent, s["sidecar"]["url"], key).status_code == 200
        press(dlg.table, "Escape")
        ui.until(lambda: dlg.result is not None, what="closed")
    finally:
        agent.stop()
        with_keyring = open_secret_store(get_paths().keyring_namespace)
        with_keyring.delete(secret_key(SECRET_NAME))


def test_status_shows_the_real_agents_state_and_numbers(ui: Harness, agent_home: Path) -> None:
    write_config(agent_home, free_port())
    agent = AgentProc(agent_home)
    try:
        s = agent.wait_running()
        key = cli(agent_home, "key", env=agent.env).stdout.strip()
        for _ in range(3):
            assert chat(agent, s["sidecar"]["url"], key).status_code == 200

        def total() -> int:
            r = cli(agent_home, "metrics", "--json", env=agent.env)
            return int(json.loads(r.stdout)["total_requests"])

        ui.until(lambda: total() == 3, timeout=60, what="three requests in the metrics")
        dlg = ui.open(StatusDialog, {}, services_for(agent_home))
        assert isinstance(dlg, StatusDialog)
        expected = f"running (pid {s['sidecar']['pid']})"
        ui.until(lambda: dlg.rows["Proxy"].get() == expected, timeout=30, what="proxy row")
        assert dlg.rows["URL"].get() == s["sidecar"]["url"]
        assert dlg.rows["Restarts"].get() == "0"
        assert dlg.rows["Keyring"].get() == s["keyring"]["backend"]
        ui.until(
            lambda: "3 requests since the agent started" in dlg.metrics_box.get("1.0", "end"),
            timeout=30,
            what="the agent's request count",
        )
        assert "demo-chat" in dlg.metrics_box.get("1.0", "end")
        ui.shot(dlg, "status-real-agent")
    finally:
        agent.stop()
