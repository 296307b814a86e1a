"""Shared fixtures: a private home per test, free ports, artifacts directory."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tray_agent.paths import Paths, get_paths

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
# Directories whose files share a session-scoped resource: the package build runs once.
SHARED_DIRS = ("packaging",)


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
        else:
            group = str(rel)
        item.add_marker(pytest.mark.xdist_group(group))


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
