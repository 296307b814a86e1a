"""Parallel commands on one home (separate processes, no agent): no update is lost.

Runs against the real Secret Service keyring (scripts/with-desktop.sh).
"""

from __future__ import annotations

import json

import pytest

from tests.helpers.keyring import require_keyring
from tests.helpers.parallel import Job, keyring_names, run_parallel
from tray_agent.envstore import EnvStore, secret_key
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore, open_secret_store

N = 12


@pytest.fixture
def secrets(paths: Paths) -> SecretStore:
    return require_keyring(open_secret_store(paths.keyring_namespace))


def test_parallel_env_set_keeps_every_entry_and_secret(paths: Paths, secrets: SecretStore) -> None:
    home = paths.config_dir.parent
    jobs: list[Job] = []
    for i in range(N):
        jobs.append((["env", "set", f"PLAIN_{i}", f"value-{i}"], None))
        # The stdin form of a secret: nothing on the command line.
        jobs.append((["env", "set", f"SECRET_{i}", "--secret"], f"s-{i}\n"))
    results = run_parallel(home, jobs)
    failures = [r.stderr for r in results if r.returncode != 0]
    assert not failures, failures[0]
    assert not any("warning" in r.stderr for r in results), "no secret came on argv"
    data = json.loads(paths.env_file.read_text())
    names = {e["name"] for e in data["entries"]}
    assert names == {f"PLAIN_{i}" for i in range(N)} | {f"SECRET_{i}" for i in range(N)}
    assert data["revision"] == 2 * N, "every command wrote once, each on top of the last"
    store = EnvStore(paths.env_file, secrets)
    resolved = store.resolved()
    for i in range(N):
        assert resolved[f"PLAIN_{i}"] == f"value-{i}"
        assert resolved[f"SECRET_{i}"] == f"s-{i}"
        assert f"s-{i}" not in paths.env_file.read_text()
    # Exactly the entries' values in the keyring: no orphan, no probe item left behind.
    assert keyring_names(paths) == {secret_key(f"SECRET_{i}") for i in range(N)}


def test_parallel_unset_and_set_leave_no_orphan_secret(paths: Paths, secrets: SecretStore) -> None:
    home = paths.config_dir.parent
    store = EnvStore(paths.env_file, secrets)
    for i in range(N):
        store.set(f"GONE_{i}", f"g-{i}", secret=True)
    jobs: list[Job] = [(["env", "unset", f"GONE_{i}"], None) for i in range(N)]
    jobs += [(["env", "set", f"KEPT_{i}", "--secret"], f"k-{i}") for i in range(N)]
    for result in run_parallel(home, jobs):
        assert result.returncode == 0, result.stderr
    assert store.enabled_names() == {f"KEPT_{i}" for i in range(N)}
    assert keyring_names(paths) == {secret_key(f"KEPT_{i}") for i in range(N)}
