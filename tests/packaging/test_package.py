"""The built packages: extract the .deb, run the frozen app offline, refuse a tampered sidecar.

One build per test run (session fixture); PyInstaller output is cached between runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.packaging.frozen import (
    APP_REL,
    FrozenAgent,
    build_packages,
    built_public_key,
    extract,
)
from tray_agent.integrity import verify as verify_mod
from tray_agent.integrity.manifest import MANIFEST_NAME, SIGNATURE_NAME, Manifest
from tray_agent.integrity.verify import verify_bundle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

READY_TIMEOUT = 300
RECORD = "integrity-verified.json"


@pytest.fixture(scope="session")
def deb() -> Path:
    return build_packages()


@pytest.fixture(scope="session")
def root(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb's files unpacked into a temporary root (control files in DEBIAN/)."""
    root = tmp_path_factory.mktemp("deb-root")
    extract(deb, root)
    return root


@pytest.fixture(scope="session")
def app(root: Path) -> Path:
    return root / APP_REL


def _init_demo(agent_home: Path, app: Path) -> int:
    """``litellm-bridge init --template demo`` with the frozen CLI; the port it chose."""
    port = free_port()
    argv = [str(app / "litellm-bridge"), "init", "--template", "demo", "--non-interactive"]
    r = subprocess.run(
        [*argv, "--port", str(port)],
        env={**os.environ, "LITELLM_BRIDGE_HOME": str(agent_home)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return port


@pytest.fixture
def agent_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def running_agent(app: Path, agent_home: Path) -> Iterator[tuple[FrozenAgent, int]]:
    port = _init_demo(agent_home, app)
    agent = FrozenAgent(app, agent_home)
    try:
        yield agent, port
    finally:
        agent.stop()


def test_deb_installs_under_opt_with_launcher_menu_entry_and_no_autostart(root: Path) -> None:
    launcher = root / "usr" / "bin" / "litellm-bridge"
    assert launcher.stat().st_mode & 0o111
    assert "/opt/litellm-bridge/litellm-bridge" in launcher.read_text()
    desktop = (root / "usr/share/applications/litellm-bridge.desktop").read_text()
    assert "Exec=litellm-bridge" in desktop and "Icon=litellm-bridge" in desktop
    assert (root / "usr/share/icons/hicolor/256x256/apps/litellm-bridge.png").is_file()
    assert not (root / "etc" / "xdg" / "autostart").exists()
    control = (root / "DEBIAN" / "control").read_text()
    assert "Package: litellm-bridge" in control
    assert "Depends: libc6 (>= 2." in control


def test_manifest_covers_every_shipped_file(app: Path) -> None:
    manifest = Manifest.decode((app / MANIFEST_NAME).read_bytes())
    shipped = {
        p.relative_to(app).as_posix()
        for p in app.rglob("*")
        if (p.is_file() or p.is_symlink()) and p.name not in (MANIFEST_NAME, SIGNATURE_NAME)
    }
    assert shipped == set(manifest.files)
    assert "sidecar/litellm-bridge-sidecar" in manifest.files
    assert not any("_experimental/out/_next/static" in f for f in manifest.files)


def test_extracted_app_serves_a_demo_completion_offline(
    app: Path, running_agent: tuple[FrozenAgent, int]
) -> None:
    agent, port = running_agent
    status = agent.wait_for(
        lambda s: s["sidecar"]["state"] == "running", READY_TIMEOUT, "the frozen sidecar"
    )
    assert status["sidecar"]["pid"]
    key = agent.cli("key").stdout.strip()
    assert key
    body = json.dumps({"model": "demo", "messages": [{"role": "user", "content": "hi"}]})
    r = agent.in_netns(
        [
            "curl",
            "-sS",
            "--max-time",
            "60",
            f"http://127.0.0.1:{port}/v1/chat/completions",
            "-H",
            f"Authorization: Bearer {key}",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        ]
    )
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert "LiteLLM Bridge demo model" in answer["choices"][0]["message"]["content"]
    # Claude Code's route too: LiteLLM loads it lazily, from a module the build must not drop.
    body = json.dumps(
        {"model": "demo", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    )
    r = agent.in_netns(
        [
            "curl",
            "-sS",
            "--max-time",
            "60",
            f"http://127.0.0.1:{port}/v1/messages",
            "-H",
            f"x-api-key: {key}",
            "-H",
            "anthropic-version: 2023-06-01",
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
        ]
    )
    assert r.returncode == 0, r.stderr
    assert "LiteLLM Bridge demo model" in json.loads(r.stdout)["content"][0]["text"], r.stdout
    # Nothing may write into the installed bundle while it runs (it would fail verification).
    verify_mod.forget_verified()
    verify_bundle(app, None, built_public_key())
    # The next agent run re-hashes only changed files: the record is kept, authenticated.
    assert "sidecar verified:" in agent.logs()
    record = json.loads((agent.home / "data" / RECORD).read_text())
    assert "sidecar/litellm-bridge-sidecar" in record["files"] and len(record["mac"]) == 64


def test_the_sidecar_leaves_out_numpy_and_soundfile(app: Path) -> None:
    """Left out by installer/sidecar.spec (45 MB); the demo test above proves it still starts
    and serves, with sidecar/left_out.py's placeholder for soundfile."""
    sidecar = app / "sidecar"
    assert (sidecar / "litellm-bridge-sidecar").is_file()
    for name in ("numpy", "numpy.libs", "_soundfile_data", "soundfile.py"):
        assert not list(sidecar.rglob(name)), f"{name} is bundled again"
    assert list(sidecar.rglob("left_out.py")), "the placeholder module is not shipped"


def _flip_one_byte(path: Path) -> int:
    data = bytearray(path.read_bytes())
    offset = len(data) // 2
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    return offset


def _expect_refused(agent: FrozenAgent, message: str) -> None:
    status = agent.wait_for(
        lambda s: s["sidecar"]["state"] == "error", READY_TIMEOUT, "the launch to be refused"
    )
    error = str(status["sidecar"].get("error") or status.get("error") or status)
    assert message in error, status
    assert message in agent.logs()
    assert status["sidecar"].get("pid") in (None, 0)


def test_a_flipped_byte_in_the_sidecar_is_refused(app: Path, agent_home: Path) -> None:
    """Even after an earlier run verified the bundle and recorded it."""
    target = app / "sidecar" / "_internal" / "base_library.zip"
    original = target.read_bytes()
    _init_demo(agent_home, app)
    first = FrozenAgent(app, agent_home)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not (agent_home / "data" / RECORD).is_file():
            assert time.monotonic() < deadline and first.proc.poll() is None, first.output()
            time.sleep(0.2)
    finally:
        first.stop()
    _flip_one_byte(target)
    agent = FrozenAgent(app, agent_home)
    try:
        _expect_refused(agent, "base_library.zip was modified after signing")
    finally:
        agent.stop()
        target.write_bytes(original)


def test_a_sidecar_without_signature_is_refused(app: Path, agent_home: Path) -> None:
    signature = app / SIGNATURE_NAME
    saved = agent_home.parent / "saved.sig"
    shutil.move(signature, saved)
    _init_demo(agent_home, app)
    agent = FrozenAgent(app, agent_home)
    try:
        _expect_refused(agent, "not signed")
    finally:
        agent.stop()
        shutil.move(saved, signature)
