"""The audit log of a real agent and sidecar against the stand-in IAM and LLM: one event
per request on every route (refusals included), security events, nothing secret, a
``kill -9`` that leaves a verifiable log, and ``audit.required`` failing closed on a full
disk (a small tmpfs) and recovering."""

# Policy directories must be world-readable (root-owned, 0755).
# ruff: noqa: S103

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agentproc import AgentProc, cli
from tests.helpers.live_bridge import (
    CLIENT_SECRET,
    LLM_KEY,
    MODEL,
    PASSWORD,
    corp_model,
    live_agent,
    oauth_iam,
    proxy_key,
)
from tests.helpers.smallfs import small_fs
from tests.policy.policy_files import needs_root, policy_dir, write_policy
from tests.standins.iam import StandinIam
from tests.standins.llm import StandInLLM

pytestmark = [needs_root, pytest.mark.timeout(600)]

PLANTED = "planted-prompt-7f3a9 do not log me"


def audit_lines(home: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in sorted((home / "data" / "audit").glob("audit-*.jsonl")):
        for raw in f.read_bytes().splitlines():
            with contextlib.suppress(ValueError):  # a line being written
                out.append(json.loads(raw))
    return out


def raw_log(home: Path) -> bytes:
    return b"".join(f.read_bytes() for f in (home / "data" / "audit").rglob("*") if f.is_file())


def wait_events(home: Path, pred: Any, what: str, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    lines = audit_lines(home)
    while not pred(lines):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
        lines = audit_lines(home)
    return lines


def requests_by_id(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["request_id"]: e for e in lines if e["event"] == "request"}


@pytest.fixture(scope="module")
def iam() -> Iterator[StandinIam]:
    with StandinIam(ttl=600.0) as server:
        yield server


@pytest.fixture(scope="module")
def llm() -> Iterator[StandInLLM]:
    with StandInLLM(reply="internal answer here") as server:
        yield server


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("audit-policy")
    os.chmod(base, 0o755)
    d = policy_dir(base)
    write_policy(d / "policy.json", {"models": {"deny": ["secret-*"]}})
    return d


@pytest.fixture(scope="module")
def agent(
    tmp_path_factory: pytest.TempPathFactory, iam: StandinIam, llm: StandInLLM, policy: Path
) -> Iterator[AgentProc]:
    home = tmp_path_factory.mktemp("audit-home")
    machine = tmp_path_factory.mktemp("no-machine-policy")
    os.chmod(machine, 0o755)

    def env(e: dict[str, str]) -> None:
        e["LITELLM_BRIDGE_POLICY_DIR"] = str(policy)
        e["LITELLM_BRIDGE_MACHINE_POLICY_DIR"] = str(machine)

    bridge = {"iam": oauth_iam(iam)}
    with live_agent(
        home, models=[corp_model(llm)], bridge=bridge, edit_env=env, signed_in=True
    ) as a:
        yield a


def test_every_request_is_one_event_and_nothing_secret_is_in_the_log(
    agent: AgentProc, iam: StandinIam
) -> None:
    key = proxy_key(agent)
    url = agent.wait_running()["sidecar"]["url"]
    auth = {"Authorization": f"Bearer {key}", "User-Agent": "claude-cli/2.0.1 (external, cli)"}
    chat = {"model": MODEL, "messages": [{"role": "user", "content": PLANTED}]}
    sent: dict[str, tuple[int, str, str]] = {}  # request id -> (status, route, decision)
    with httpx.Client(timeout=60) as client:
        for body, path in (
            (chat, "/v1/chat/completions"),
            ({**chat, "stream": True}, "/v1/chat/completions"),
            ({**chat, "max_tokens": 50}, "/v1/messages"),
            ({**chat, "model": "secret-model"}, "/v1/chat/completions"),  # denied: 403
        ):
            r = client.post(url + path, headers=auth, json=body)
            _ = r.content
            decision = "refused:model_denied" if r.status_code == 403 else "allowed"
            sent[r.headers["x-request-id"]] = (r.status_code, path, decision)
        wrong_key = {**auth, "Authorization": "Bearer x"}
        wrong = client.post(url + "/v1/chat/completions", headers=wrong_key, json=chat)
        sent[wrong.headers["x-request-id"]] = (401, "/v1/chat/completions", "allowed")
    assert [s for s, _, _ in sent.values()] == [200, 200, 200, 403, 401]
    lines = wait_events(
        agent.home, lambda ls: set(sent) <= set(requests_by_id(ls)), "the request events"
    )
    seen = requests_by_id(lines)
    for rid, (status, route, decision) in sent.items():
        event = seen[rid]
        assert (event["status"], event["route"], event["decision"]) == (status, route, decision)
        assert event["client"] == "claude-cli/2.0.1"
        assert event["employee_id"] == "e1001"
    allowed = [seen[r] for r, v in sent.items() if v[0] == 200]
    assert all(e["project"] == {"project": "proj-42"} and e["model"] == MODEL for e in allowed)
    assert sum(1 for e in lines if e["event"] == "request") == len(sent)  # one each, no more
    assert [e for e in allowed if e["stream"]], "the streamed request is marked as a stream"
    assert all(e["tokens_in"] and e["tokens_out"] for e in allowed if e["route"] != "/v1/messages")
    # Security events of the set-up: env entries (names only), sign-in, config, policy.
    names = [e["event"] for e in lines]
    for wanted in ("env.added", "token.login", "config.applied", "policy.loaded"):
        assert wanted in names, names
    login = next(e for e in lines if e["event"] == "token.login")
    assert login["employee_id"] == "e1001"
    # Nothing secret, no content: the token, the proxy key, the env secrets, the passwords
    # and the prompt appear nowhere in the log's files.
    raw = raw_log(agent.home)
    for secret in (key, LLM_KEY, CLIENT_SECRET, PASSWORD, PLANTED, *iam.issued):
        assert secret.encode() not in raw, secret[:12]
    verify = cli(agent.home, "audit", "verify", "--json", env=agent.env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["ok"] is True


def test_a_kill_9_mid_burst_leaves_a_log_that_verifies_and_the_chain_goes_on(
    tmp_path: Path, llm: StandInLLM, policy: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()

    def env(e: dict[str, str]) -> None:
        e["LITELLM_BRIDGE_POLICY_DIR"] = str(policy)

    with live_agent(home, models=[corp_model(llm, name="plain")], edit_env=env) as agent:
        key = proxy_key(agent)
        url = agent.wait_running()["sidecar"]["url"]
        stop = threading.Event()
        done: list[int] = []

        def burst() -> None:
            with httpx.Client(timeout=10) as client:
                while not stop.is_set():
                    try:
                        r = client.post(
                            url + "/v1/chat/completions",
                            headers={"Authorization": f"Bearer {key}"},
                            json={"model": "demo-chat", "messages": [{"role": "user",
                                  "content": "hi"}]},
                        )  # fmt: skip
                        done.append(r.status_code)
                    except httpx.HTTPError:
                        return

        workers = [threading.Thread(target=burst) for _ in range(4)]
        for w in workers:
            w.start()
        wait_events(home, lambda ls: sum(e["event"] == "request" for e in ls) >= 20, "a burst")
        agent.proc.send_signal(signal.SIGKILL)
        agent.proc.wait(10)
        stop.set()
        for w in workers:
            w.join(30)
    report = cli(home, "audit", "verify", "--json", env=agent.env)
    assert report.returncode == 0, report.stdout + report.stderr
    doc = json.loads(report.stdout)
    assert doc["ok"] and doc["events"] >= 20
    # The next agent on the same home continues the chain (and seals it when it stops).
    with live_agent(home, models=[corp_model(llm, name="plain")], edit_env=env) as again:
        wait_events(home, lambda ls: ls[-1]["event"] == "config.applied", "the next agent")
        assert again.proc.poll() is None
    final = cli(home, "audit", "verify", "--json", env=agent.env)
    doc = json.loads(final.stdout)
    assert final.returncode == 0 and doc["ok"] and doc["unsealed"] == 0, final.stdout


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """``home/data/audit`` on a 3 MiB tmpfs (CI runs as root)."""
    with small_fs(tmp_path / "home" / "data" / "audit", "3m") as audit:
        yield audit


def test_a_required_audit_log_on_a_full_disk_refuses_with_503_and_recovers(
    tmp_path: Path, llm: StandInLLM, small_disk: Path
) -> None:
    d = policy_dir(tmp_path, "required-policy")
    write_policy(d / "policy.json", {"audit": {"required": True}})
    home = tmp_path / "home"

    def env(e: dict[str, str]) -> None:
        e["LITELLM_BRIDGE_POLICY_DIR"] = str(d)

    with live_agent(home, edit_env=env) as agent:
        key = proxy_key(agent)
        url = agent.wait_running()["sidecar"]["url"]
        body = {"model": "demo-chat", "messages": [{"role": "user", "content": "hi"}]}
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.post(url + "/v1/chat/completions", headers=auth, json=body).status_code == 200
        filler = small_disk / "filler"
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={filler}", "bs=64k", "count=40"],
            capture_output=True,
            check=False,
        )  # leaves well under the writer's 1 MiB minimum
        agent.wait_for(lambda s: (s.get("audit") or {}).get("blocking"), 30, "the audit block")
        refused = httpx.post(url + "/v1/chat/completions", headers=auth, json=body)
        assert refused.status_code == 503, refused.text
        assert "audit log cannot be written" in refused.text and "is full" in refused.text
        status = agent.status() or {}
        assert status["audit"]["ok"] is False and "full" in status["audit"]["error"]
        filler.unlink()
        agent.wait_for(lambda s: not (s.get("audit") or {}).get("blocking"), 30, "recovery")
        assert httpx.post(url + "/v1/chat/completions", headers=auth, json=body).status_code == 200
        lines = wait_events(
            home, lambda ls: sum(e["event"] == "request" for e in ls) >= 3, "all three requests"
        )
        decisions = [e["decision"] for e in lines if e["event"] == "request"]
        assert decisions == ["allowed", "refused:audit_unavailable", "allowed"]
    verify = cli(home, "audit", "verify", env=agent.env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
