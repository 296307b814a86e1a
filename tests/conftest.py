"""Shared fixtures: a private home per test, free ports, artifacts directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.ports import reserve_port
from tray_agent.paths import Paths, get_paths

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    """A port for an agent no other test process can take (see ``tests.helpers.ports``)."""
    return reserve_port()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A relocated LITELLM_BRIDGE_HOME for this test only."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(h))
    yield h


@pytest.fixture
def paths(home: Path) -> Paths:
    """The product's paths in that home, directories created."""
    p = get_paths()
    p.ensure()
    return p


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pytest_configure(config: pytest.Config) -> None:
    # Child processes (agent, sidecar) must never reach the internet.
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


DESKTOP_DIRS = ("tray", "dialogs")
# Tests behind the headline promises (zero-downtime apply, token rotation): a race that loses
# one request in three runs would pass a retried run ~96 % of the time, so they never rerun.
GUARANTEES = (
    "agent/test_zero_downtime.py",
    "sidecar/test_swap.py",
    "agent/test_watched_apply.py",
    "sidecar/test_token.py",
    "agent/test_token_flow.py",
    # One agent for the whole module: a retry would only see what the failed try left.
    "update/test_takeover.py",
)
# Other tests may be retried, but a run that needed more retries than this fails.
RERUN_BUDGET = int(os.environ.get("TEST_RERUN_BUDGET", "2"))
# Directories whose files share a session-scoped resource: the package build runs once.
SHARED_DIRS = ("packaging",)
# Load tests whose token lives 15 s (refreshed 5 s before it expires): never beside a
# PyInstaller freeze, which takes both cores for minutes, so they run in its group.
BESIDE_NO_FREEZE = ("agent/test_zero_downtime.py",)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks into node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep each test file on one xdist worker (module-scoped sidecars are shared within a
    file), every test that drives the shared tray host and screen on the same worker, and
    the packaging tests together so the frozen build is made once."""
    for item in items:
        rel = Path(str(item.fspath)).relative_to(ROOT / "tests")
        if rel.parts[0] in DESKTOP_DIRS:
            group = "desktop"
        elif rel.parts[0] in SHARED_DIRS:
            group = rel.parts[0]
        elif rel.as_posix() in BESIDE_NO_FREEZE:
            group = SHARED_DIRS[0]
        else:
            group = str(rel)
        item.add_marker(pytest.mark.xdist_group(group))
        if rel.as_posix() in GUARANTEES or item.get_closest_marker("guarantee"):
            item.add_marker(pytest.mark.flaky(reruns=0))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail loudly if xdist stopped honouring the groups (it did once, after a pytest
    upgrade): tests that share a tray host or a package build would then race."""
    config = session.config
    if not hasattr(config, "workerinput") or not config.getvalue("loadgroup"):
        return
    ungrouped = [item.nodeid for item in session.items if "@" not in item.nodeid]
    if ungrouped:
        raise pytest.UsageError(
            f"pytest-xdist ignored the xdist_group marks (e.g. {ungrouped[0]}); "
            "pin pytest and pytest-xdist to versions that work together in requirements/dev.in"
        )


_reruns: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.outcome == "rerun":
        _reruns.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Print the retries this run needed; more than the budget turns a green run red."""
    if hasattr(session.config, "workerinput") or not _reruns:
        return
    print(f"\nretried {len(_reruns)} time(s) (budget {RERUN_BUDGET}): {', '.join(_reruns)}")
    if len(_reruns) > RERUN_BUDGET and session.exitstatus == 0:
        print("too many retries: the suite is flaky; fix the tests named above")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
