"""Known secrets planted everywhere a secret can live never appear in the diagnostics zip,
the logs or any command output."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.agentproc import AgentProc, cli, token_login
from tests.metrics.live import chat, login, proxy_key, setup_home
from tests.standins.iam import StandinIam
from tests.standins.llm import StandInLLM
from tray_agent.paths import get_paths
from tray_agent.secrets import open_secret_store

pytestmark = pytest.mark.timeout(900)

PASSWORD = 'pl4nted "pass" \\word'
CLIENT_SECRET = "planted-client-secret-71"
LLM_KEY = "planted-llm-api-key-5521"
EXTRA = "planted-extra-env-secret-88"
HEADER_SECRET = "planted-header-value-3301"
PROXY_PASSWORD = "planted-proxy-pass-42"


@pytest.fixture(scope="module")
def iam() -> Iterator[StandinIam]:
    with StandinIam(ttl=600.0, users={"e1001": PASSWORD}, clients={"bridge": CLIENT_SECRET}) as s:
        yield s


@pytest.fixture(scope="module")
def llm() -> Iterator[StandInLLM]:
    with StandInLLM(reply="internal answer") as server:
        yield server


@pytest.fixture(scope="module")
def agent(
    tmp_path_factory: pytest.TempPathFactory, iam: StandinIam, llm: StandInLLM
) -> Iterator[AgentProc]:
    home = tmp_path_factory.mktemp("redaction-home")
    env = setup_home(
        home,
        iam,
        llm,
        env_values={
            "CORP_LLM_KEY": (LLM_KEY, True),
            "CORP_IAM_SECRET": (CLIENT_SECRET, True),
            "EXTRA_SECRET": (EXTRA, True),
        },
    )
    cfg_path = home / "config" / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    # Verbose LiteLLM prints upstream requests (body with the token, headers) to its output.
    cfg["litellm_settings"] = {"set_verbose": True}
    cfg["model_list"][1]["litellm_params"]["extra_headers"] = {"X-Extra": "os.environ/EXTRA_SECRET"}
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    env["HTTPS_PROXY"] = f"http://me:{PROXY_PASSWORD}@proxy.invalid:3128"
    env["NO_PROXY"] = "127.0.0.1,localhost"
    a = AgentProc(home, env=env)
    try:
        a.wait_running(timeout=600)
        yield a
    finally:
        a.stop()


def planted(agent: AgentProc, iam: StandinIam) -> list[str]:
    store = open_secret_store(get_paths({"LITELLM_BRIDGE_HOME": str(agent.home)}).keyring_namespace)
    values = [PASSWORD, CLIENT_SECRET, LLM_KEY, EXTRA, HEADER_SECRET, PROXY_PASSWORD]
    values += [proxy_key(agent), *iam.issued]
    values += [v for v in (store.get("refresh-token"), store.get("iam-password")) if v]
    forms = set(values) | {json.dumps(v)[1:-1] for v in values}
    return sorted(forms)


def assert_clean(where: str, text: str, secrets: list[str]) -> None:
    for s in secrets:
        assert s not in text, f"a planted secret ({s[:6]}...) leaked into {where}"


def test_no_planted_secret_reaches_zip_logs_or_output(
    agent: AgentProc, iam: StandinIam, llm: StandInLLM, tmp_path: Path
) -> None:
    r = token_login(agent.home, agent.env, PASSWORD + "\n", "--remember")
    assert r.returncode == 0, r.stderr
    agent.wait_for(lambda s: s["token"]["state"] == "valid", 60, "valid token")
    key = proxy_key(agent)
    with httpx.Client(timeout=120) as client:
        auth = {"Authorization": f"Bearer {HEADER_SECRET}"}
        assert chat(agent, client, key).status_code == 200
        assert chat(agent, client, key, stream=True).status_code == 200
        assert chat(agent, client, "sk-" + HEADER_SECRET, headers=auth).status_code >= 400
        llm.signing_key = b"rejecting-key"
        try:
            assert chat(agent, client, key).status_code == 401
        finally:
            llm.signing_key = b"stand-in-iam-signing-key"
    assert cli(agent.home, "token", "refresh", env=agent.env).returncode == 0
    login(agent.home, agent.env, PASSWORD)  # a second sign-in: a new token, a new refresh token
    secrets = planted(agent, iam)
    assert len(iam.issued) >= 3

    outputs: dict[str, str] = {}
    for args in (
        ("status",),
        ("status", "--json"),
        ("metrics", "--json"),
        ("logs", "-n", "0"),
        ("doctor",),
        ("doctor", "--json"),
        ("token", "status", "--json"),
        ("diagnostics", "-o", str(tmp_path)),
    ):
        res = cli(agent.home, *args, env=agent.env, timeout=300)
        outputs[" ".join(args)] = res.stdout + res.stderr
    for name, text in outputs.items():
        assert_clean(f"`{name}` output", text, secrets)
    m = re.search(r"diagnostics written to (\S+)", outputs[f"diagnostics -o {tmp_path}"])
    assert m, outputs
    zpath = Path(m.group(1))
    assert re.fullmatch(r"litellm-bridge-diagnostics-\d{8}-\d{6}\.zip", zpath.name)
    with zipfile.ZipFile(zpath) as zf:
        names = zf.namelist()
        for member in names:
            assert_clean(f"zip member {member}", zf.read(member).decode(), secrets)
        assert {"about.json", "status.json", "doctor.txt", "errors.json", "metrics.json"} <= set(
            names
        )
        assert {"env.json", "config/config.yaml", "config/effective-config.yaml"} <= set(names)
        assert {"logs/agent.log", "logs/sidecar.log"} <= set(names)
        env_entries = {e["name"]: e for e in json.loads(zf.read("env.json"))}
        assert env_entries["CORP_PROJECT"]["value"] == "[REDACTED]"
        assert "os.environ/CORP_LLM_KEY" in zf.read("config/config.yaml").decode()
        about = json.loads(zf.read("about.json"))
        assert about["versions"]["litellm"].startswith("1.")
        assert about["agent_running"] is True
        assert json.loads(zf.read("metrics.json"))["total_requests"] >= 4
        sidecar_log = zf.read("logs/sidecar.log").decode()
        assert "[REDACTED]" in sidecar_log  # verbose output did carry secrets
    for path in agent.home.rglob("*"):
        if path.is_file() and path.suffix != ".zip":
            assert_clean(
                str(path.relative_to(agent.home)), path.read_text(errors="replace"), secrets
            )


def test_export_for_the_tray_writes_atomically_with_a_timestamped_name(
    agent: AgentProc, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tray_agent.diagnostics import export_diagnostics

    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(agent.home))
    paths = get_paths()
    first = export_diagnostics(paths, tmp_path)
    target = tmp_path / "chosen.zip"
    second = export_diagnostics(paths, target)
    assert second == target.resolve() and zipfile.is_zipfile(second)
    assert first.parent == tmp_path.resolve() and first.name.startswith("litellm-bridge-diag")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
