"""Signed updates with the real frozen build: the extracted package (0.1.0) updates itself to
a ``--version`` copy (0.2.0) over a loopback HTTP server, starts it, leaves a version that
fails to start by itself (0.3.0), and rolls back by hand to the installed package.

One build per test run (``frozen.build_packages`` is shared with test_package.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from installer import keys, release, update_keys
from installer.sign import sign_bundle
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


def _running(agent: FrozenAgent) -> dict[str, object]:
    return agent.wait_for(
        lambda s: s["sidecar"]["state"] == "running", READY_TIMEOUT, "the frozen sidecar"
    )


def test_update_applied_started_rolled_back_automatically_and_by_hand(
    app: Path, repo: Path, home: Path
) -> None:
    _init_demo(home, app)
    with serve(repo) as url:
        _update_url(home, url)
        cli = Cli(app, home)
        check = _json(cli, "update", "check")
        assert check["available"] == "0.2.0" and check["current"] == "0.1.0"
        applied = _json(cli, "update", "apply")
        assert applied["installed"] == "0.2.0"

        # The base package starts the new version on trial, sees it healthy, keeps it.
        agent = FrozenAgent(app, home)
        try:
            _running(agent)
            status = _json(agent, "update", "status")
            assert status["running"] == "0.2.0" and status["trial"] is None
            assert agent.cli("--version").stdout.strip() == "litellm-bridge 0.2.0"
            # What outlives the version (a client's key helper) names the installed package.
            r = subprocess.run(
                [str(agent.exe), "clients", "env", "--shell", "bash"],
                env={**agent.env, "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert r.returncode == 0, r.stderr
            assert f"{app / 'litellm-bridge'} key" in r.stdout, r.stdout
            assert "versions" not in r.stdout
        finally:
            agent.stop()

        # A signed release that cannot start: two failed starts, then 0.2.0 comes back.
        _broken_release(repo, app, "0.3.0")
        applied = _json(cli, "update", "apply")
        assert applied["installed"] == "0.3.0" and applied["previous"] == "0.2.0"
        agent = FrozenAgent(app, home)
        try:
            _running(agent)
            status = _json(agent, "update", "status")
            assert status["current"] == "0.2.0" and status["running"] == "0.2.0"
            assert "0.3.0" in status["bad"]  # type: ignore[operator]
            # The user is told: on the console, in the agent's status (the tray's notice).
            assert "update 0.3.0 was rolled back to 0.2.0" in agent.output()
            part = agent.wait_for(lambda s: bool(s["update"]["notice"]), 30, "the notice")
            assert "rolled back to 0.2.0" in part["update"]["notice"]
            check = _json(agent, "update", "check")
            assert check["available"] is None and "marked bad" in str(check["why_not"])
        finally:
            agent.stop()

    # By hand: back to the installed package.
    r = cli.cli("update", "rollback")
    assert r.returncode == 0 and "rolled back from 0.2.0" in r.stdout, r.stdout + r.stderr
    assert cli.cli("--version").stdout.strip() == "litellm-bridge 0.1.0"


def test_the_shipped_root_is_covered_by_the_signed_manifest(app: Path) -> None:
    manifest = Manifest.decode((app / MANIFEST_NAME).read_bytes())
    assert SHIPPED_ROOT in manifest.files
