"""Where every file the product writes lives.

``LITELLM_BRIDGE_HOME=DIR`` relocates all of them at once (tests, portable installs);
otherwise the platform's per-user directories are used.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from tray_agent import APP_NAME
from tray_agent.platform import IS_WINDOWS, POSIX_PERMISSIONS, SYSTEM, files

HOME_ENV = "LITELLM_BRIDGE_HOME"
RUNTIME_ENV = "XDG_RUNTIME_DIR"
SOCKET_PATH_MAX = 107
"""Longest Unix socket path: ``sun_path`` is 108 bytes on Linux, its NUL included."""
SHORT_RUNTIME = ".litellm-bridge-run"
"""Runtime dir under the home when the state dir's socket path would be too long."""


class UnsafeDirectory(PermissionError):
    """A directory that must be private (the control socket's) is another user's or open."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            13,
            f"{path} {problem}; it holds the agent's control socket, so it must be a directory "
            "of yours that only you can open (mode 0700). Remove it (or have its owner remove "
            f"it), or set {RUNTIME_ENV} to such a directory",
            str(path),
        )


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (0700) or accept an existing one only if it is ours: a real directory
    (not a symlink), owned by this user; a group/other mode bit is removed."""
    if not POSIX_PERMISSIONS:
        path.mkdir(parents=True, exist_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeDirectory(path, "is a symbolic link")
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeDirectory(path, "is not a directory")
    if info.st_uid != files.user_id():
        raise UnsafeDirectory(path, f"belongs to another user (uid {info.st_uid})")
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)


def _private_base(value: str | None) -> Path | None:
    """``XDG_RUNTIME_DIR`` when it is what the spec promises: our own 0700 directory."""
    if not POSIX_PERMISSIONS or not value or not os.path.isabs(value):
        return None
    try:
        info = os.lstat(value)
    except OSError:
        return None
    ours = stat.S_ISDIR(info.st_mode) and info.st_uid == files.user_id()
    return Path(value) if ours and not info.st_mode & 0o077 else None


def runtime_dir_for(env: Mapping[str, str]) -> Path:
    """Where the control socket and the instance lock live for this user.

    ``$XDG_RUNTIME_DIR/litellm-bridge`` when that is a private directory of ours; otherwise
    ``run`` under the user's state dir (or a short directory under the home when the socket
    path would be too long, and ``<tmp>/litellm-bridge-<uid>`` when even that is). A shared
    predictable path is used only after checking it is ours and 0700: another local user who
    creates it first gets a clear refusal, never our socket.
    """
    if SYSTEM in ("win32", "darwin"):
        return Path(platformdirs.user_runtime_dir(APP_NAME, appauthor=False))
    base = _private_base(env.get(RUNTIME_ENV))
    if base is not None:
        return base / APP_NAME
    state = Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)) / "run"
    for candidate in (state, Path.home() / SHORT_RUNTIME):
        if len(os.fsencode(candidate / "agent.sock")) <= SOCKET_PATH_MAX:
            return candidate
    # A home too deep for any socket path: a per-uid directory in the temp dir, which
    # ensure_private_dir refuses unless it is ours and 0700 (tmux does the same).
    return Path(tempfile.gettempdir()) / f"litellm-bridge-{files.user_id()}"


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    data_dir: Path
    log_dir: Path
    runtime_dir: Path
    relocated: bool = False

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.yaml"

    @property
    def env_file(self) -> Path:
        """Env store: names, flags and keyring references only (never secret values)."""
        return self.config_dir / "env.json"

    @property
    def effective_config(self) -> Path:
        return self.data_dir / "effective-config.yaml"

    @property
    def state_file(self) -> Path:
        """Non-secret state readable without unlocking the keyring (token expiry, employee id)."""
        return self.data_dir / "state.json"

    @property
    def audit_dir(self) -> Path:
        """The tamper-evident audit log (``tray_agent.audit``): JSON Lines, hash-chained."""
        return self.data_dir / "audit"

    @property
    def account_file(self) -> Path:
        return self.config_dir / "account.json"

    @property
    def agent_log(self) -> Path:
        return self.log_dir / "agent.log"

    @property
    def sidecar_log(self) -> Path:
        return self.log_dir / "sidecar.log"

    @property
    def control_address(self) -> str:
        if IS_WINDOWS:
            digest = hashlib.sha256(str(self.runtime_dir).encode()).hexdigest()[:16]
            return rf"\\.\pipe\litellm-bridge-{digest}"
        return str(self.runtime_dir / "agent.sock")

    @property
    def lock_file(self) -> Path:
        return self.runtime_dir / "agent.lock"

    @property
    def keyring_namespace(self) -> str:
        """Prefix for keyring user names so relocated homes never share secrets."""
        if not self.relocated:
            return "default"
        return "home-" + hashlib.sha256(str(self.config_dir.parent).encode()).hexdigest()[:12]

    def as_dict(self) -> dict[str, str]:
        return {
            "config": str(self.config_file),
            "env": str(self.env_file),
            "effective_config": str(self.effective_config),
            "state": str(self.state_file),
            "audit": str(self.audit_dir),
            "config_dir": str(self.config_dir),
            "data_dir": str(self.data_dir),
            "log_dir": str(self.log_dir),
            "runtime_dir": str(self.runtime_dir),
            "control": self.control_address,
        }

    def ensure(self) -> None:
        """Create every directory (0700) or raise an OSError naming the one that failed."""
        ensure_private_dir(self.runtime_dir)
        for d in (self.config_dir, self.data_dir, self.log_dir, self.runtime_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
            if POSIX_PERMISSIONS:
                os.chmod(d, 0o700)
            if not os.access(d, os.W_OK | os.X_OK):
                raise PermissionError(13, "directory is not writable", str(d))


def get_paths(environ: Mapping[str, str] | None = None) -> Paths:
    """The product's paths; raises ``UnsafeDirectory`` when the runtime dir is not private."""
    env = os.environ if environ is None else environ
    home = env.get(HOME_ENV)
    if home:
        root = Path(home).expanduser().absolute()
        return Paths(
            config_dir=root / "config",
            data_dir=root / "data",
            log_dir=root / "logs",
            runtime_dir=root / "run",
            relocated=True,
        )
    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    runtime = runtime_dir_for(env)
    # Checked before any command looks for the agent's socket in it: a directory another
    # user controls could hold a socket impersonating the agent.
    ensure_private_dir(runtime)
    return Paths(
        config_dir=Path(dirs.user_config_dir),
        data_dir=Path(dirs.user_data_dir),
        log_dir=Path(dirs.user_log_dir),
        runtime_dir=runtime,
    )
