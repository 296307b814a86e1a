"""Each source the secret feed reads, with a real agent core (no sidecar) as its host."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import write_config
from tests.conftest import free_port
from tests.helpers.host import Host
from tray_agent.core.agent import Agent
from tray_agent.envstore import EnvStore, NewValue
from tray_agent.logs.redact import REDACTOR
from tray_agent.logs.secret_feed import SecretFeed
from tray_agent.paths import Paths
from tray_agent.secrets import MemoryStore

CLIENT_SECRET = "feed-client-secret-5521"


def redacted(value: str) -> bool:
    return value not in REDACTOR.redact(f"x {value} y")


@pytest.fixture
def host(paths: Paths, home: Path) -> Iterator[Host]:
    store = MemoryStore()
    store.persistent = True  # the env store keeps secret values only in a "keyring"
    iam = {
        "kind": "oauth2-password",
        "token_url": "http://127.0.0.1:9/oauth/token",
        "client_id": "feed-client",
        "client_secret": "os.environ/CORP_IAM_SECRET",
    }
    write_config(home, free_port(), bridge={"iam": iam})
    EnvStore(paths.env_file, store).set_many([NewValue("CORP_IAM_SECRET", CLIENT_SECRET, True)])
    agent = Agent(paths, store)
    agent.start_thread()
    yield Host(agent, paths, store)
    agent.shutdown()


def test_the_iam_basic_auth_pair_of_a_new_config_is_registered(host: Host) -> None:
    feed = SecretFeed(host)
    pair = base64.b64encode(f"feed-client:{CLIENT_SECRET}".encode()).decode()
    assert not redacted(pair)
    host.agent.call("reload").result(30)
    assert host.agent.latest_prepared is not None
    assert redacted(pair) and redacted(CLIENT_SECRET)
    feed.stop()


def test_secret_parameters_of_control_requests_are_registered_before_the_handler_runs(
    host: Host,
) -> None:
    seen: list[bool] = []
    host.handlers["token.login"] = lambda params: seen.append(redacted(params["password"]))
    metrics = host.handlers["metrics"] = lambda params: {}
    SecretFeed(host)
    host.handlers["token.login"]({"password": "typed-password-7710", "employee_id": "e1"})
    assert seen == [True]
    assert not redacted("e1")
    assert host.handlers["metrics"] is metrics, "methods without secrets are left alone"


def test_values_in_the_secret_store_are_registered_at_start(host: Host) -> None:
    host.secrets.set("iam-password", "stored-password-3318")
    host.secrets.set("unrelated", "not-a-product-secret-4410")
    feed = SecretFeed(host)
    feed.start()
    try:
        deadline = time.monotonic() + 10
        while not redacted("stored-password-3318") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert redacted("stored-password-3318")
        assert not redacted("not-a-product-secret-4410")
    finally:
        feed.stop()
