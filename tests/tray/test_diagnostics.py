"""Export diagnostics: status, redacted logs, config and env names, never a secret value."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tray_agent.envstore import EnvStore
from tray_agent.logs.redact import REDACTOR
from tray_agent.paths import get_paths
from tray_agent.secrets import MemoryStore
from tray_agent.tray.diagnostics import export


def test_zip_has_status_logs_and_env_names_without_secrets(home: Path, tmp_path: Path) -> None:
    paths = get_paths()
    paths.ensure()
    secrets = MemoryStore()
    secrets.persistent = True  # type: ignore[misc]
    EnvStore(paths.env_file, secrets).set("CORP_API_KEY", "sk-topsecret-123", secret=True)
    REDACTOR.add("sk-topsecret-123")
    paths.agent_log.write_text("INFO leaked sk-topsecret-123 here\n")
    paths.config_file.write_text("model_list: []\n")
    target = export(paths, {"sidecar": {"state": "running"}}, tmp_path / "d.zip")
    with zipfile.ZipFile(target) as zf:
        names = set(zf.namelist())
        assert {"about.json", "status.json", "env-names.json", "config.yaml"} <= names
        assert "logs/agent.log" in names
        blob = b"".join(zf.read(n) for n in names)
        env = json.loads(zf.read("env-names.json"))
    assert b"sk-topsecret-123" not in blob
    assert env == [{"name": "CORP_API_KEY", "secret": True, "enabled": True}]
