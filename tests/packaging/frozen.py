"""Build the packages once, extract the .deb, and drive the extracted frozen agent."""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
APP_REL = Path("opt") / "litellm-bridge"
BUILD_TIMEOUT = 3600


_BUILT: dict[str, Path] = {}


def build_packages(compression: str = "gzip:1") -> Path:
    """``make package`` (cached PyInstaller output makes repeat runs fast); the .deb path.

    Tests pack with gzip (seconds); releases use xz (minutes for ~300 MB on two cores).
    Once per test process: every test module that needs the package shares the build.
    """
    if compression not in _BUILT:
        _BUILT[compression] = _build(compression)
    return _BUILT[compression]


def _build(compression: str) -> Path:
    env = dict(os.environ)
    env.setdefault("PYTHON", sys.executable)
    env["LITELLM_BRIDGE_DEB_COMPRESSION"] = compression
    began = time.monotonic()
    DIST.mkdir(exist_ok=True)
    # One build at a time in this checkout: two test runs must not rebuild the same folders.
    with open(DIST / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(
            ["make", "package", f"PYTHON={env['PYTHON']}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
        )
    if result.returncode != 0:
        raise AssertionError(
            f"make package failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    print(f"make package: {time.monotonic() - began:.0f} s", file=sys.stderr)
    debs = sorted(DIST.glob("litellm-bridge_*.deb"), key=lambda p: p.stat().st_mtime)
    assert debs, f"no .deb in {DIST}:\n{result.stdout[-2000:]}"
    return debs[-1]


def extract(deb: Path, root: Path) -> Path:
    """Unpack the package's files (and its control files into root/DEBIAN); the app folder."""
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    subprocess.run(["dpkg-deb", "-e", str(deb), str(root / "DEBIAN")], check=True)
    return root / APP_REL


def offline(argv: list[str]) -> list[str]:
    """Run ``argv`` in a new network namespace that has only loopback."""
    inner = "ip link set lo up && exec " + " ".join(shlex.quote(a) for a in argv)
    # Without root, a user namespace grants the right to make the network namespace.
    user_ns = [] if os.geteuid() == 0 else ["--map-root-user"]
    return ["unshare", *user_ns, "--net", "sh", "-c", inner]


class FrozenAgent:
    """The extracted ``litellm-bridge`` run headless (``run``) in a private home."""

    def __init__(self, app: Path, home: Path, network: bool = False) -> None:
        self.app = app
        self.home = home
        self.exe = app / "litellm-bridge"
        self.env = {**os.environ, "LITELLM_BRIDGE_HOME": str(home)}
        for name in ("LITELLM_BRIDGE_SIDECAR_CMD", "PYTHONPATH", "VIRTUAL_ENV"):
            self.env.pop(name, None)
        argv = [str(self.exe), "run", "--quiet"]
        self.log = open(home / "agent-stdout.log", "ab")  # noqa: SIM115
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            argv if network else offline(argv), env=self.env, stdout=self.log, stderr=self.log
        )

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.exe), *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def status(self) -> dict[str, Any] | None:
        r = self.cli("status", "--json", timeout=30)
        if r.returncode != 0:
            return None
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None

    def wait_for(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited with {self.proc.returncode}: {self.output()}")
            try:
                last = self.status()
            except subprocess.TimeoutExpired:
                last = None
            if last is not None and pred(last):
                return last
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}; last status: {last}\n{self.output()}")

    def in_netns(self, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` in the agent's network namespace (its 127.0.0.1)."""
        return subprocess.run(
            ["nsenter", "-t", str(self.proc.pid), "-n", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def output(self) -> str:
        return (self.home / "agent-stdout.log").read_text(errors="replace")[-3000:]

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted((self.home / "logs").glob("*.log*"))
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def built_public_key() -> Any:
    """The public key the last build froze into the agent (read from the generated module)."""
    from installer.build import BUILD
    from installer.keys import MODULE_NAME
    from tray_agent.integrity.keys import public_key_from_b64

    text = (BUILD / "key-module" / f"{MODULE_NAME}.py").read_text()
    value = text.split('PUBLIC_KEY = "', 1)[1].split('"', 1)[0]
    return public_key_from_b64(value)
