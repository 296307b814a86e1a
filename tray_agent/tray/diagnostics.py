"""Export diagnostics: a zip with the status, redacted logs, config and env names (no values)."""

from __future__ import annotations

import json
import platform
import time
import zipfile
from pathlib import Path
from typing import Any

from tray_agent import __version__
from tray_agent.logs.redact import REDACTOR
from tray_agent.paths import Paths

LOG_TAIL = 2 * 1024 * 1024


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - LOG_TAIL))
            return fh.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read {path.name}: {exc.strerror or exc})\n"


def export(paths: Paths, snapshot: dict[str, Any], target: Path) -> Path:
    """Write the zip to ``target``; every text passes the secret redactor first."""
    env_names: list[dict[str, Any]] = []
    try:
        from tray_agent.envstore import EnvStore

        env_names = [
            {"name": e.name, "secret": e.secret, "enabled": e.enabled}
            for e in EnvStore(paths.env_file, None).entries()
        ]
    except Exception as exc:
        env_names = [{"error": str(exc)}]
    about = {
        "version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "paths": paths.as_dict(),
    }
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("about.json", REDACTOR.redact(json.dumps(about, indent=2)))
        zf.writestr("status.json", REDACTOR.redact(json.dumps(snapshot, indent=2)))
        zf.writestr("env-names.json", json.dumps(env_names, indent=2))
        if paths.config_file.exists():
            zf.writestr("config.yaml", REDACTOR.redact(_tail(paths.config_file)))
        for log in (paths.agent_log, paths.sidecar_log):
            if log.exists():
                zf.writestr(f"logs/{log.name}", REDACTOR.redact(_tail(log)))
    return target
