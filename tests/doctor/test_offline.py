"""Each doctor check fails for its own fault and passes when healthy (no agent running)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.agentproc import cli, write_config
from tests.conftest import free_port
from tests.metrics.live import corp_model, oauth_iam
from tests.standins.iam import StandinIam, make_test_ca
from tests.standins.llm import StandInLLM
from tests.standins.tokens import mint
from tray_agent.doctor import DoctorContext, run_doctor
from tray_agent.doctor.config_checks import check_config, check_keyring
from tray_agent.doctor.environment_checks import check_proxy_env
from tray_agent.doctor.iam_checks import check_clock, check_iam
from tray_agent.doctor.port_check import check_port
from tray_agent.doctor.token_check import check_token
from tray_agent.doctor.upstream_check import check_upstream
from tray_agent.envstore import EnvStore
from tray_agent.fsutil import atomic_write
from tray_agent.paths import Paths, get_paths
from tray_agent.secrets import SecretStore, open_secret_store

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def store(paths: Paths) -> Iterator[SecretStore]:
    s = open_secret_store(paths.keyring_namespace)
    yield s
    for name in ("token", "env:CORP_LLM_KEY", "env:CORP_IAM_SECRET", "master-key"):
        s.delete(name)


@pytest.fixture(scope="module")
def llm() -> Iterator[StandInLLM]:
    with StandInLLM() as server:
        yield server


@pytest.fixture(scope="module")
def iam() -> Iterator[StandinIam]:
    with StandinIam() as server:
        yield server


def configure(
    paths: Paths, store: SecretStore, iam_url_server: StandinIam, llm: StandInLLM, **iam_extra: Any
) -> None:
    write_config(
        paths.config_dir.parent,
        free_port(),
        extra_models=[corp_model(llm)],
        bridge={"iam": oauth_iam(iam_url_server, **iam_extra)},
    )
    env = EnvStore(paths.env_file, store)
    env.set("CORP_PROJECT", "proj-42", secret=False)
    env.set("CORP_LLM_KEY", "llm-key-value-1234", secret=True)
    env.set("CORP_IAM_SECRET", "client-s3cret", secret=True)


def ctx(paths: Paths, store: SecretStore, **kw: Any) -> DoctorContext:
    return DoctorContext(paths, environ=kw.pop("environ", {}), secret_store=lambda: store, **kw)


def set_token(paths: Paths, store: SecretStore, ttl: float) -> str:
    token, _exp = mint("e1001", max(ttl, 1.0))
    store.set("token", token)
    state = {"token": {"employee_id": "e1001", "expires_at": time.time() + ttl, "has_token": True}}
    atomic_write(paths.state_file, json.dumps(state))
    return token


def test_healthy_setup_passes_every_check_it_can_run_without_an_agent(
    paths: Paths, store: SecretStore, iam: StandinIam, llm: StandInLLM
) -> None:
    configure(paths, store, iam, llm)
    set_token(paths, store, 600)
    report = run_doctor(paths, context=ctx(paths, store))
    by_id = {r.id: r for r in report.checks}
    assert {k: v.status for k, v in by_id.items() if v.status != "pass"} == {"sidecar": "warn"}
    assert "directly at" in by_id["upstream"].detail
    assert report.ok


def test_config_with_unresolved_env_reference_fails(
    paths: Paths, store: SecretStore, iam: StandinIam, llm: StandInLLM
) -> None:
    configure(paths, store, iam, llm)
    EnvStore(paths.env_file, store).unset("CORP_PROJECT")
    r = check_config(ctx(paths, store))
    assert r.status == "fail" and "CORP_PROJECT" in r.detail and r.fix


def test_port_taken_fails_and_names_the_holder(
    paths: Paths, store: SecretStore, iam: StandinIam, llm: StandInLLM
) -> None:
    configure(paths, store, iam, llm)
    port = DoctorContext(paths).port()
    holder = socket.socket()
    holder.bind(("127.0.0.1", port))
    holder.listen(1)
    try:
        r = check_port(ctx(paths, store))
        assert (
            r.status == "fail" and "already in use" in r.detail and "bridge.port" in (r.fix or "")
        )
    finally:
        holder.close()
    assert check_port(ctx(paths, store)).status == "pass"


def test_iam_down_fails_at_the_tcp_step(paths: Paths, store: SecretStore, llm: StandInLLM) -> None:
    down = SimpleNamespace(url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    configure(paths, store, down, llm)  # type: ignore[arg-type]
    r = check_iam(ctx(paths, store))
    assert r.status == "fail" and r.data["step"] == "tcp" and "TCP" in r.detail


def test_untrusted_corporate_ca_is_told_apart_from_other_tls_errors(
    paths: Paths, store: SecretStore, llm: StandInLLM, tmp_path: Path
) -> None:
    tls = make_test_ca(tmp_path / "ca")
    with StandinIam(tls=tls) as secure:
        configure(paths, store, secure, llm)
        r = check_iam(ctx(paths, store))
        assert r.status == "fail" and r.data["untrusted_ca"] and r.data["step"] == "tls"
        assert "ca_bundle" in (r.fix or "")
        configure(paths, store, secure, llm, ca_bundle=str(tls.ca_pem))
        assert check_iam(ctx(paths, store)).status == "pass"
    wrong_name = make_test_ca(tmp_path / "other", hosts=("iam.other.example",))
    with StandinIam(tls=wrong_name) as mismatched:
        configure(paths, store, mismatched, llm, ca_bundle=str(wrong_name.ca_pem))
        r = check_iam(ctx(paths, store))
        assert r.status == "fail" and not r.data["untrusted_ca"] and "another name" in r.detail


def test_expired_token_fails_and_says_how_to_sign_in(
    paths: Paths, store: SecretStore, iam: StandinIam, llm: StandInLLM
) -> None:
    configure(paths, store, iam, llm)
    assert check_token(ctx(paths, store)).status == "fail"  # none at all
    set_token(paths, store, -60)
    r = check_token(ctx(paths, store))
    assert r.status == "fail" and "expired" in r.detail and "token login" in (r.fix or "")
    set_token(paths, store, 600)
    assert check_token(ctx(paths, store)).status == "pass"


def test_upstream_rejecting_the_token_fails(
    paths: Paths, store: SecretStore, iam: StandinIam, llm: StandInLLM
) -> None:
    configure(paths, store, iam, llm)
    set_token(paths, store, 600)
    assert check_upstream(ctx(paths, store)).status == "pass"
    llm.signing_key = b"another-signing-key"
    try:
        r = check_upstream(ctx(paths, store))
    finally:
        llm.signing_key = b"stand-in-iam-signing-key"
    assert r.status == "fail" and r.data["status"] == 401 and "directly at" in r.detail
    assert "rejected" in (r.fix or "")


def test_proxy_variables_capturing_loopback_fail_without_showing_credentials(
    paths: Paths, store: SecretStore
) -> None:
    proxy = {"HTTPS_PROXY": "http://me:proxy-pass-987@proxy.corp:3128"}
    r = check_proxy_env(ctx(paths, store, environ=dict(proxy)))
    assert r.status == "fail" and "HTTPS_PROXY" in r.detail and "NO_PROXY" in (r.fix or "")
    assert "proxy-pass-987" not in json.dumps(r.as_dict())
    ok = check_proxy_env(ctx(paths, store, environ={**proxy, "no_proxy": "localhost,127.0.0.1"}))
    assert ok.status == "pass"
    assert check_proxy_env(ctx(paths, store)).status == "pass"


def test_wrong_clock_fails_against_the_iam_date(
    paths: Paths, store: SecretStore, llm: StandInLLM
) -> None:
    with StandinIam(date_skew=-3600) as skewed:
        configure(paths, store, skewed, llm)
        r = check_clock(ctx(paths, store))
    assert r.status == "fail" and "ahead of" in r.detail and abs(r.data["skew_seconds"]) > 3500


def test_cli_exits_non_zero_and_explains_when_nothing_is_set_up(home: Path) -> None:
    r = cli(home, "doctor")
    assert r.returncode == 1
    assert "FAIL  config valid" in r.stdout and "litellm-bridge init" in r.stdout
    r = cli(home, "doctor", "--json")
    data = json.loads(r.stdout)
    assert r.returncode == 1 and data["ok"] is False and not data["agent_running"]
    assert {ch["id"] for ch in data["checks"]} >= {"config", "port", "iam", "token", "disk"}


def test_missing_keyring_is_a_warning_without_secrets_and_a_failure_with_them(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tray_agent.secrets import MemoryStore

    store = MemoryStore()
    paths = get_paths()
    paths.ensure()
    (paths.config_file).write_text(
        "model_list:\n  - model_name: demo\n    litellm_params:\n"
        "      model: openai/demo\n      mock_response: hi\n"
    )
    ctx = DoctorContext(paths=paths, environ={}, secret_store=lambda: store)
    assert check_keyring(ctx).status == "warn"
    # An env entry flagged secret (set earlier with a keyring): its value needs one.
    paths.env_file.write_text(json.dumps({"entries": [{"name": "CORP_KEY", "secret": True}]}))
    ctx = DoctorContext(paths=paths, environ={}, secret_store=lambda: store)
    assert check_keyring(ctx).status == "fail"
