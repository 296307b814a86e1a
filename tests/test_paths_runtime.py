"""The runtime dir (control socket, instance lock) is private even without XDG_RUNTIME_DIR."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OTHER_UID = 65534  # "nobody": stands for another local user
needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another uid needs root"
)
pytestmark = pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG platforms")


def run(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), **extra}
    env["LITELLM_BRIDGE_SECRET_STORE"] = "memory"
    return subprocess.run(
        [sys.executable, "-m", "tray_agent", *args],
        env=env,  # no XDG_RUNTIME_DIR, no LITELLM_BRIDGE_HOME
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@pytest.fixture
def home() -> Iterator[Path]:
    """A short home: pytest's own temp paths are long enough under xdist that the socket
    path would pass the AF_UNIX limit, which takes the other runtime dir (tested below)."""
    h = Path(tempfile.mkdtemp(prefix="lbh-"))
    yield h
    shutil.rmtree(h, ignore_errors=True)


def runtime_of(home: Path) -> Path:
    return home / ".local" / "state" / "litellm-bridge" / "run"


def test_without_xdg_runtime_dir_commands_use_a_private_dir_and_warn_nothing(
    home: Path,
) -> None:
    r = run(home, "paths", "--json")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no RuntimeDirWarning
    runtime = Path(json.loads(r.stdout)["runtime_dir"])
    assert runtime == runtime_of(home)
    info = runtime.lstat()
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == os.geteuid()
    s = run(home, "status")
    assert s.returncode == 3 and "RuntimeDirWarning" not in s.stderr
    assert "no agent is running" in s.stdout + s.stderr


def test_a_private_xdg_runtime_dir_is_used_and_an_open_one_is_not(home: Path) -> None:
    xdg = home / "xdg"
    xdg.mkdir(mode=0o700)
    r = run(home, "paths", "--json", XDG_RUNTIME_DIR=str(xdg))
    assert json.loads(r.stdout)["runtime_dir"] == str(xdg / "litellm-bridge")
    xdg.chmod(0o777)  # anyone could plant a socket there: not trusted
    r = run(home, "paths", "--json", XDG_RUNTIME_DIR=str(xdg))
    assert json.loads(r.stdout)["runtime_dir"] == str(runtime_of(home))


def test_our_own_runtime_dir_with_an_open_mode_is_repaired(home: Path) -> None:
    runtime = runtime_of(home)
    runtime.mkdir(parents=True)
    runtime.chmod(0o777)
    assert run(home, "paths", "--json").returncode == 0
    assert stat.S_IMODE(runtime.lstat().st_mode) == 0o700


def _foreign(runtime: Path) -> None:
    runtime.mkdir(parents=True)
    runtime.chmod(0o777)
    os.chown(runtime, OTHER_UID, OTHER_UID)


def _symlink(runtime: Path) -> None:
    elsewhere = runtime.parent.parent / "elsewhere"
    elsewhere.mkdir(parents=True, mode=0o700)
    runtime.parent.mkdir(parents=True, exist_ok=True)
    runtime.symlink_to(elsewhere)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        pytest.param(_foreign, "belongs to another user (uid 65534)", marks=needs_root),
        (_symlink, "is a symbolic link"),
    ],
    ids=["foreign-owned-0777", "symlink"],
)
@pytest.mark.parametrize("command", [("status",), ("paths", "--json")])
def test_an_unsafe_runtime_dir_is_a_clear_error_not_a_traceback(
    home: Path, make: object, words: str, command: tuple[str, ...]
) -> None:
    runtime = runtime_of(home)
    make(runtime)  # type: ignore[operator]
    r = run(home, *command)
    assert r.returncode == 1
    assert r.stderr.startswith(f"error: {runtime} {words}; it holds the agent's control socket")
    assert "XDG_RUNTIME_DIR" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_a_home_too_deep_for_a_socket_path_uses_a_short_private_dir(home: Path) -> None:
    deep = home / ("d" * 52)  # too deep for the state dir, not for the short one
    deeper = deep / ("e" * 60)
    for h, expected in ((deep, deep / ".litellm-bridge-run"), (deeper, None)):
        h.mkdir(parents=True, exist_ok=True)
        r = run(h, "paths", "--json")
        assert r.returncode == 0 and r.stderr == "", r.stderr
        runtime = Path(json.loads(r.stdout)["runtime_dir"])
        if expected is not None:
            assert runtime == expected
        else:  # no path under the home fits: a per-uid dir, checked like the others
            assert runtime.name == f"litellm-bridge-{os.getuid()}"
        assert len(str(runtime / "agent.sock").encode()) <= 107
        assert runtime.lstat().st_uid == os.getuid()
        assert stat.S_IMODE(runtime.lstat().st_mode) == 0o700
