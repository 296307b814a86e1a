"""Where every file the product writes lives.

``LITELLM_BRIDGE_HOME=DIR`` relocates all of them at once (tests, portable installs);
otherwise the platform's per-user directories are used.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from tray_agent import APP_NAME

HOME_ENV = "LITELLM_BRIDGE_HOME"


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
        if os.name == "nt":
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
            "config_dir": str(self.config_dir),
            "data_dir": str(self.data_dir),
            "log_dir": str(self.log_dir),
            "runtime_dir": str(self.runtime_dir),
            "control": self.control_address,
        }

    def ensure(self) -> None:
        """Create every directory (0700) or raise an OSError naming the one that failed."""
        for d in (self.config_dir, self.data_dir, self.log_dir, self.runtime_dir):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
            if os.name != "nt":
                os.chmod(d, 0o700)
            if not os.access(d, os.W_OK | os.X_OK):
                raise PermissionError(13, "directory is not writable", str(d))


def get_paths(environ: dict[str, str] | None = None) -> Paths:
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
    runtime = Path(dirs.user_runtime_dir)
    return Paths(
        config_dir=Path(dirs.user_config_dir),
        data_dir=Path(dirs.user_data_dir),
        log_dir=Path(dirs.user_log_dir),
        runtime_dir=runtime,
    )
