"""Sign-in through the agent, refresh while serving, injection, no secrets on disk."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agentproc import AgentProc, cli, token_login
from tests.helpers.live_bridge import CLIENT_SECRET, PASSWORD, corp_model, live_agent, oauth_iam
from tests.helpers.wait import wait_until
from tests.standins.iam import StandinIam
from tests.standins.llm import StandInLLM
from tests.standins.tokens import verify

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def iam() -> Iterator[StandinIam]:
    server = StandinIam(ttl=10.0)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def llm() -> Iterator[StandInLLM]:
    with StandInLLM(reply="internal answer") as server:
        yield server


@pytest.fixture(scope="module")
def agent(
    tmp_path_factory: pytest.TempPathFactory, iam: StandinIam, llm: StandInLLM
) -> Iterator[AgentProc]:
    with live_agent(
        tmp_path_factory.mktemp("token-home"),
        models=[corp_model(llm, max_retries=None)],
        bridge={"iam": oauth_iam(iam)},
    ) as a:
        yield a


def _login(agent: AgentProc, stdin: str) -> subprocess.CompletedProcess[str]:
    return token_login(agent.home, agent.env, stdin)


def _endpoint(agent: AgentProc) -> tuple[str, str]:
    s = agent.status()
    assert s is not None
    return s["sidecar"]["url"], cli(agent.home, "key", env=agent.env).stdout.strip()


def _post(
    agent: AgentProc,
    client: httpx.Client | None = None,
    stream: bool = False,
    endpoint: tuple[str, str] | None = None,
) -> httpx.Response:
    url, key = endpoint or _endpoint(agent)
    c = client or httpx.Client(timeout=60)
    return c.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "model": "corp-llm",
            "stream": stream,
            "messages": [{"role": "user", "content": "hello"}],
            "token": "client-forged",
            "project": "other-project",
        },
    )


def test_without_token_nothing_is_forwarded_and_client_is_told(
    agent: AgentProc, llm: StandInLLM
) -> None:
    llm.clear()
    r = _post(agent)
    assert r.status_code == 401, r.text
    assert "token" in r.text and "litellm-bridge token login" in r.text
    assert llm.completions() == []
    s = agent.status()
    assert s is not None and s["token"]["state"] in ("absent", "expired")


def test_wrong_password_is_tried_once(agent: AgentProc, iam: StandinIam) -> None:
    before = iam.failed_password_attempts["e1001"]
    r = _login(agent, "wrong password\n")
    assert r.returncode != 0
    assert "wrong password" not in r.stderr + r.stdout
    # A fence instead of a pause: token.status is answered on the refresher's thread, after
    # anything (a retry) the failed login could have queued there.
    cli(agent.home, "token", "status", env=agent.env)
    assert iam.failed_password_attempts["e1001"] == before + 1


def test_refreshes_while_serving_without_failures_or_restart(
    agent: AgentProc, iam: StandinIam, llm: StandInLLM
) -> None:
    r = _login(agent, PASSWORD + "\n")
    assert r.returncode == 0, r.stderr + r.stdout
    s = agent.wait_for(lambda s: s["token"]["state"] == "valid", timeout=30, what="valid token")
    pid = s["sidecar"]["pid"]
    llm.clear()
    grants_before = iam.refresh_grants
    failures: list[str] = []
    count = 0
    stop = threading.Event()

    endpoint = _endpoint(agent)

    def load(stream: bool) -> None:
        nonlocal count
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                try:
                    resp = _post(agent, client, stream=stream, endpoint=endpoint)
                    complete = (
                        "[DONE]" in resp.text and 'answer"' in resp.text
                        if stream
                        else "internal answer" in resp.text
                    )
                    if resp.status_code != 200 or not complete:
                        failures.append(f"{resp.status_code}: {resp.text[:200]}")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                count += 1

    threads = [threading.Thread(target=load, args=(i % 2 == 1,)) for i in range(2)]
    for t in threads:
        t.start()
    try:
        # Three refreshes (10 s tokens) that each carried requests upstream, under load.
        wait_until(
            lambda: (
                iam.refresh_grants - grants_before >= 3
                and len({req.body["token"] for req in llm.completions()}) >= 4
            ),
            240,
            "three refreshed tokens to reach the upstream",
        )
    finally:
        stop.set()
    for t in threads:
        t.join(60)
    assert failures == []
    assert count > 10
    assert iam.refresh_grants - grants_before >= 3, "token was not refreshed repeatedly"
    after = agent.status()
    assert after is not None and after["sidecar"]["pid"] == pid
    seen = llm.completions()
    assert len(seen) >= count - 2
    tokens = {req.body["token"] for req in seen}
    assert len(tokens) >= 3, "upstream did not see rotated tokens"
    for req in seen:
        assert req.body["project"] == "proj-42"
        assert req.body["token"] != "client-forged"
        assert req.headers.get("authorization") == "Bearer llm-key-value-1234"


def test_token_status_shows_expiry_not_the_token(agent: AgentProc, iam: StandinIam) -> None:
    r = _login(agent, PASSWORD + "\n")
    assert r.returncode == 0, r.stderr + r.stdout
    r = cli(agent.home, "token", "status", "--json", env=agent.env)
    assert r.returncode == 0, r.stderr
    assert '"expires_at"' in r.stdout and "e1001" in r.stdout
    for token in iam.issued:
        assert token not in r.stdout
    assert iam.issued and verify(iam.issued[-1]) is not None


def test_no_secret_in_any_file_under_home(agent: AgentProc, iam: StandinIam) -> None:
    key = cli(agent.home, "key", env=agent.env).stdout.strip()
    secrets = [PASSWORD, CLIENT_SECRET, "llm-key-value-1234", key, *iam.issued]
    for path in Path(agent.home).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for s in secrets:
                assert s.encode() not in data, f"secret found in {path}"
