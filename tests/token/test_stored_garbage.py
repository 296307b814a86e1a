"""Planted garbage in the state file or the keyring never crashes a command or the agent.

An older version, a hand edit or a broken disk can leave ``Infinity``, ``NaN``, huge numbers
or wrong types in ``state.json``, and a mangled token in the keyring. Every reader treats
them as "no expiry known" (the token is not used) with a clear status, and every JSON the
product prints about them is strict.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import ROOT, AgentProc, cli, env_for, token_login, write_config
from tests.conftest import free_port
from tests.helpers.keyring import require_keyring
from tests.standins.iam import StandinIam
from tests.token.conftest import EMPLOYEE, PASSWORD, json_profile
from tests.token.jsoncheck import root_of, strict_loads
from tray_agent.control.client import ControlClient
from tray_agent.paths import HOME_ENV, Paths, get_paths
from tray_agent.secrets import SecretStore
from tray_agent.token.lifecycle import TokenManager
from tray_agent.token.store import PersistedState, TokenStore, read_state

pytestmark = pytest.mark.timeout(300)

GOOD_EXPIRY = time.time() + 3600

# Raw JSON text planted as the token section's expiry (the rest says "signed in").
PLANTED = {
    "infinity": "Infinity",
    "minus-infinity": "-Infinity",
    "nan": "NaN",
    "overflow": "1e400",
    "huge-float": "1e300",
    "huge-int": "1" + "0" * 400,
    "epoch-ms": str(int(GOOD_EXPIRY * 1000)),
    "negative": "-5",
    "string": '"tomorrow"',
    "boolean": "true",
    "object": '{"at": 1}',
}


def plant(path: Path, expires_at: str, **extra: str) -> None:
    fields = {
        "employee_id": '"e1001"',
        "has_token": "true",
        "expires_at": expires_at,
        "next_refresh_at": extra.pop("next_refresh_at", "NaN"),
        "can_refresh_silently": "true",
        "last_error": "null",
        **extra,
    }
    body = ", ".join(f'"{k}": {v}' for k, v in fields.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"sidecar": {"port": 4000}, "token": {' + body + "}}\n")


@pytest.mark.parametrize("raw", list(PLANTED.values()), ids=list(PLANTED))
def test_planted_expiry_reads_as_unknown(tmp_path: Path, raw: str) -> None:
    path = tmp_path / "state.json"
    plant(path, raw)
    st = read_state(path)
    assert st.expires_at is None and st.has_token is False and st.next_refresh_at is None
    assert st.last_error and "sign in again" in st.last_error


@pytest.mark.parametrize(
    "text",
    [
        '{"token": {"employee_id": 7, "has_token": "yes", "last_error": ["x"]}}',
        '{"token": [1, 2]}',
        '"just a string"',
        "[" * 100_000 + "]" * 100_000,  # nested past the parser's recursion limit
        '{"token": {"expires_at": 1e300, "has_token": false}}',
    ],
    ids=["wrong-types", "list-section", "string-file", "deep", "huge-unsigned"],
)
def test_garbage_state_file_reads_without_crash(tmp_path: Path, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    st = read_state(path)
    assert isinstance(st, PersistedState) and st.has_token is False
    assert st.employee_id is None or isinstance(st.employee_id, str)
    assert st.expires_at is None


@pytest.mark.parametrize("raw", ["Infinity", "NaN", "1e400", '"tomorrow"'])
def test_token_status_cli_survives_planted_state(home: Paths, raw: str) -> None:
    plant(home.state_file, raw)
    root = root_of(home)
    text = cli(root, "token", "status")
    assert text.returncode == 1 and "Traceback" not in text.stderr, text.stderr
    assert "token: absent" in text.stdout and "sign in again" in text.stdout
    as_json = cli(root, "token", "status", "--json")
    assert as_json.returncode == 1 and "Traceback" not in as_json.stderr, as_json.stderr
    status = strict_loads(as_json.stdout)
    assert status["state"] == "absent" and status["expires_at"] is None
    assert status["next_refresh_at"] is None and "sign in again" in status["last_error"]


def test_nothing_invalid_is_written_back(home: Paths, secrets: SecretStore) -> None:
    store = TokenStore(secrets, home.state_file)
    store.save_state(
        PersistedState(
            employee_id=EMPLOYEE,
            has_token=True,
            expires_at=float("inf"),
            next_refresh_at=float("nan"),
        )
    )
    written = strict_loads(home.state_file.read_text())["token"]
    assert written["expires_at"] is None and written["next_refresh_at"] is None
    assert written["has_token"] is False


@pytest.mark.parametrize(
    "token",
    ["two words", "line\nbreak", "x" * 70_000, "caf\u00e9"],
    ids=["space", "newline", "huge", "non-ascii"],
)
def test_mangled_keyring_token_is_not_used(home: Paths, secrets: SecretStore, token: str) -> None:
    plant(home.state_file, str(GOOD_EXPIRY), next_refresh_at="null")
    secrets.set("token", token)
    manager = TokenManager(None, secrets, home.state_file)
    manager.load()
    status = manager.status()
    assert status.state == "absent" and status.expires_at is None
    assert status.last_error and "secret store" in status.last_error
    assert token not in (status.last_error or "")
    assert strict_loads(home.state_file.read_text())["token"]["has_token"] is False


def test_state_writes_wait_for_the_cross_process_lock(home: Paths, secrets: SecretStore) -> None:
    """A concurrent writer's section survives: the read-modify-write is under file_lock."""
    home.state_file.write_text('{"token": {}}')
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, json; from pathlib import Path\n"
            "from tray_agent.fsutil import atomic_write, file_lock\n"
            "p = Path(sys.argv[1])\n"
            "with file_lock(p):\n"
            "    print('locked', flush=True)\n"
            "    sys.stdin.readline()\n"
            "    whole = json.loads(p.read_text())\n"
            "    whole['other'] = {'kept': True}\n"
            "    atomic_write(p, json.dumps(whole))\n",
            str(home.state_file),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "locked"
    store = TokenStore(secrets, home.state_file)
    done = threading.Event()
    writer = threading.Thread(
        target=lambda: (store.save_state(PersistedState(employee_id=EMPLOYEE)), done.set())
    )
    writer.start()
    try:
        assert not done.wait(1.0), "save_state did not wait for the other process's lock"
    finally:
        holder.stdin.write("go\n")
        holder.stdin.flush()
        holder.wait(30)
        writer.join(30)
    assert done.is_set()
    whole = json.loads(home.state_file.read_text())
    assert whole["other"] == {"kept": True} and whole["token"]["employee_id"] == EMPLOYEE


# -- against a running agent ----------------------------------------------------------------


@pytest.fixture
def planted_agent(home: Paths) -> Iterator[AgentProc]:
    root = root_of(home)
    write_config(root, free_port())
    plant(home.state_file, "Infinity")
    agent = AgentProc(root, env_for(root), start_sidecar=False)
    try:
        agent.wait_for(lambda s: s.get("agent") is not None, 90, "the agent")
        yield agent
    finally:
        agent.stop()


def test_agent_status_and_diagnostics_survive_planted_state(
    planted_agent: AgentProc, home: Paths, tmp_path: Path
) -> None:
    root = root_of(home)
    as_json = cli(root, "status", "--json")
    assert as_json.returncode == 0 and "Traceback" not in as_json.stderr, as_json.stderr
    snap = strict_loads(as_json.stdout)
    assert snap["token"]["state"] == "absent" and snap["token"]["expires_at"] is None
    assert "sign in again" in snap["token"]["last_error"]
    text = cli(root, "status")
    assert text.returncode == 0 and "Traceback" not in text.stderr, text.stderr
    assert "token    absent" in text.stdout
    token = cli(root, "token", "status", "--json")
    assert "Traceback" not in token.stderr and strict_loads(token.stdout)["source"] == "agent"
    out = tmp_path / "diag"
    out.mkdir()
    diag = cli(root, "diagnostics", "-o", str(out) + os.sep)
    assert diag.returncode == 0 and "Traceback" not in diag.stderr, diag.stderr
    (bundle,) = list(out.glob("*.zip"))
    with zipfile.ZipFile(io.BytesIO(bundle.read_bytes())) as zf:
        names = [n for n in zf.namelist() if n.endswith(".json")]
        assert "status.json" in names
        for name in names:
            strict_loads(zf.read(name).decode())
        status = strict_loads(zf.read("status.json").decode())
    assert status["token"]["expires_at"] is None
    # The agent rewrote the state file from what it could use: strict and sane.
    written = strict_loads(home.state_file.read_text())["token"]
    assert written["expires_at"] is None and written["has_token"] is False


def _memory_env(root: Path, **extra: str) -> dict[str, str]:
    """No D-Bus session: the secret store falls back to memory for the run."""
    env = env_for(root, **extra)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return env


def _configure_iam(home: Paths, iam: StandinIam) -> None:
    root = root_of(home)
    write_config(root, free_port(), bridge={"iam": json_profile(iam.url)})


def test_remember_without_keyring_says_it_is_kept_in_the_agents_memory(
    home: Paths, standin: StandinIam
) -> None:
    root = root_of(home)
    _configure_iam(home, standin)
    env = _memory_env(root)
    agent = AgentProc(root, env, start_sidecar=False)
    try:
        agent.wait_for(lambda s: s.get("agent") is not None, 90, "the agent")
        # Without a sidecar the agent reads config.yaml when asked (or when it changes).
        client = ControlClient.connect(get_paths({HOME_ENV: str(root)}))
        assert client is not None
        with client:
            assert client.call("reload")["valid"] is True
        result = token_login(root, env, PASSWORD + "\n", "--remember")
        assert result.returncode == 0, result.stderr
        assert "OS keyring" not in result.stdout.replace("no OS keyring", "")
        assert "agent's memory for its run only" in result.stdout
        status = cli(root, "token", "status", env=env)
        assert "in the agent's memory for its run only" in status.stdout
    finally:
        agent.stop()


def test_remember_without_keyring_or_agent_says_nothing_is_kept(
    home: Paths, standin: StandinIam
) -> None:
    root = root_of(home)
    _configure_iam(home, standin)
    result = token_login(root, _memory_env(root), PASSWORD + "\n", "--remember")
    assert result.returncode == 0, result.stderr
    assert "kept in the OS keyring" not in result.stdout
    assert "already forgotten" in result.stdout


def test_remember_with_keyring_says_os_keyring(
    home: Paths, standin: StandinIam, secrets: SecretStore
) -> None:
    require_keyring(secrets)
    root = root_of(home)
    _configure_iam(home, standin)
    result = token_login(root, env_for(root), PASSWORD + "\n", "--remember")
    assert result.returncode == 0, result.stderr
    assert "kept in the OS keyring" in result.stdout
    assert secrets.get("iam-password") == PASSWORD
