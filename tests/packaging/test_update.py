"""Signed updates with the real frozen build: the extracted package (0.1.0), serving, updates
itself to a ``--version`` copy (0.2.0) over a loopback HTTP server and switches to it while
clients call the proxy, leaves a version that fails to start by itself (0.3.0) without a
failed request, and rolls back by hand to the installed package.

One build per test run (``frozen.build_packages`` is shared with test_package.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from installer import keys, release, update_keys
from installer.sign import sign_bundle
from tests.helpers.load import Load
from tests.packaging.frozen import APP_REL, FrozenAgent, build_packages, extract
from tests.packaging.test_package import _init_demo
from tests.update.repo import serve
from tray_agent.integrity.manifest import MANIFEST_NAME, Manifest
from tray_agent.update.names import SHIPPED_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

READY_TIMEOUT = 300


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deb-root")
    extract(build_packages(), root)
    return root / APP_REL


@pytest.fixture(scope="module")
def repo(app: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository made from the build's own root (the one the package ships)."""
    folder = tmp_path_factory.mktemp("update-repo")
    assert (app / SHIPPED_ROOT).read_bytes() == release.shipped_root()
    release.publish(folder, app, "0.2.0", level=1)
    return folder


def _broken_release(repo: Path, app: Path, version: str) -> None:
    """A correctly signed release that cannot start (its CLI exits at once)."""
    with tempfile.TemporaryDirectory(dir=repo) as tmp:
        copy = release.versioned_copy(app, version, Path(tmp))
        cli = copy / "_internal" / "app" / "tray_agent" / "cli.py"
        cli.write_text('raise SystemExit("this build cannot start")\n' + cli.read_text())
        key, _ = keys.signing_key(update_keys.cache() / "keys")
        sign_bundle(copy, key)
        archive = release.archive_app(copy, Path(tmp) / "app.tar.gz", 1)
        release.Repository(repo, update_keys.signers()).add_target(archive, version, {})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    h = tmp_path / "home"
    h.mkdir()
    # LiteLLM's first start on a busy 2-core machine can take longer than the default 60 s.
    monkeypatch.setenv("LITELLM_BRIDGE_UPDATE_HEALTH_TIMEOUT", str(READY_TIMEOUT))
    yield h


def _update_url(home: Path, url: str) -> None:
    config = home / "config" / "config.yaml"
    text = config.read_text()
    assert "\nbridge:\n" in text, text
    config.write_text(text.replace("\nbridge:\n", f"\nbridge:\n  update:\n    url: {url}\n", 1))


class Cli:
    """The extracted package's CLI in ``home`` (what the launcher runs), no agent."""

    def __init__(self, app: Path, home: Path) -> None:
        self.exe = app / "litellm-bridge"
        self.env = {**os.environ, "LITELLM_BRIDGE_HOME": str(home)}
        for name in ("LITELLM_BRIDGE_SIDECAR_CMD", "PYTHONPATH", "VIRTUAL_ENV"):
            self.env.pop(name, None)

    def cli(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.exe), *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )


def _json(agent: FrozenAgent | Cli, *args: str) -> dict[str, object]:
    r = agent.cli(*args, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert isinstance(doc, dict)
    return doc


DEMO = "LiteLLM Bridge demo model"


def _key(cli: Cli) -> str:
    r = cli.cli("key")
    assert r.returncode == 0 and r.stdout.strip(), r.stderr
    return r.stdout.strip()


def status_url(cli: Cli) -> str:
    return str(_json(cli, "status")["sidecar"]["url"])  # type: ignore[index]


def _running(agent: FrozenAgent) -> dict[str, Any]:
    return agent.wait_for(
        lambda s: s["sidecar"]["state"] == "running", READY_TIMEOUT, "the frozen sidecar"
    )


def test_update_applied_while_serving_rolled_back_automatically_and_by_hand(
    app: Path, repo: Path, home: Path
) -> None:
    _init_demo(home, app)
    with serve(repo) as url:
        _update_url(home, url)
        cli = Cli(app, home)
        check = _json(cli, "update", "check")
        assert check["available"] == "0.2.0" and check["current"] == "0.1.0"

        # The installed package serves; the update is installed and switched to while
        # clients call the proxy: the new version takes the socket over, nothing fails.
        agent = FrozenAgent(app, home, network=True)
        try:
            status = _running(agent)
            with Load(status["sidecar"]["url"], _key(cli), model="demo", expect=DEMO) as load:
                load.wait_served(5)
                applied = _json(cli, "update", "apply")
                load.wait_served(load.ok + 5)
            assert applied["installed"] == "0.2.0" and applied["switched"] is True
            assert applied["running"] == "0.2.0" and applied["restart_needed"] is False
            assert load.failures == [], load.failures[:3]
            assert agent.proc.wait(60) == 0, "the 0.1.0 agent handed over and left"
            status = _json(cli, "update", "status")
            assert status["running"] == "0.2.0" and status["trial"] is None
            assert cli.cli("--version").stdout.strip() == "litellm-bridge 0.2.0"
            # What outlives the version (a client's key helper) names the installed package.
            r = subprocess.run(
                [str(cli.exe), "clients", "env", "--shell", "bash"],
                env={**cli.env, "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert r.returncode == 0, r.stderr
            assert f"{app / 'litellm-bridge'} key" in r.stdout, r.stdout
            assert "versions" not in r.stdout

            # A signed release that cannot start, switched to while serving: it fails its
            # two starts, the launcher brings 0.2.0 back, and that one takes over.
            _broken_release(repo, app, "0.3.0")
            with Load(status_url(cli), _key(cli), model="demo", expect=DEMO) as load:
                load.wait_served(5)
                applied = _json(cli, "update", "apply")
                load.wait_served(load.ok + 5)
            assert applied["installed"] == "0.3.0" and applied["previous"] == "0.2.0"
            assert applied["switched"] is True and applied["running"] == "0.2.0"
            assert load.failures == [], load.failures[:3]
            status = _json(cli, "update", "status")
            assert status["current"] == "0.2.0" and status["running"] == "0.2.0"
            assert "0.3.0" in status["bad"]  # type: ignore[operator]
            # The user is told: in the agent's status (the tray's notice) and its log.
            part = _json(cli, "status")["update"]
            assert "update 0.3.0 was rolled back to 0.2.0" in str(part["notice"])  # type: ignore[index]
            check = _json(cli, "update", "check")
            assert check["available"] is None and "marked bad" in str(check["why_not"])
        finally:
            cli.cli("stop", "--agent", timeout=120)
            agent.stop()

    # By hand: back to the installed package.
    r = cli.cli("update", "rollback")
    assert r.returncode == 0 and "rolled back from 0.2.0" in r.stdout, r.stdout + r.stderr
    assert cli.cli("--version").stdout.strip() == "litellm-bridge 0.1.0"


def test_the_shipped_root_is_covered_by_the_signed_manifest(app: Path) -> None:
    manifest = Manifest.decode((app / MANIFEST_NAME).read_bytes())
    assert SHIPPED_ROOT in manifest.files
