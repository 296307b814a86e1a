"""Env entries cannot set variables that change which code the sidecar runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.agentproc import write_config
from tests.conftest import free_port
from tray_agent.config.prepare import prepare
from tray_agent.paths import Paths
from tray_agent.secrets import MemoryStore

LOADER = ["LD_PRELOAD", "ld_library_path", "DYLD_INSERT_LIBRARIES", "PYTHONPATH", "PYTHONHOME",
          "PATH", "_PYI_ARCHIVE_FILE", "OPENSSL_CONF", "OPENSSL_MODULES", "SSLKEYLOGFILE",
          "LITELLM_CONFIG_BUCKET_NAME", "LITELLM_MODE", "litellm_log"]  # fmt: skip


@pytest.mark.parametrize("name", LOADER)
def test_env_set_refuses_a_loader_variable(paths: Paths, name: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tray_agent", "env", "set", name, "/tmp/evil"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "changes which code the proxy runs or what it trusts" in result.stderr
    assert "Traceback" not in result.stderr
    stored = paths.env_file.read_text() if paths.env_file.exists() else ""
    assert name not in stored


def test_a_stored_loader_variable_never_reaches_the_sidecar(paths: Paths) -> None:
    write_config(paths.config_dir.parent, free_port())
    entries = [{"name": "GOOD", "value": "fine"}, {"name": "LD_PRELOAD", "value": "/tmp/x.so"}]
    paths.env_file.write_text(json.dumps({"version": 1, "revision": 1, "entries": entries}))
    prepared = prepare(paths, MemoryStore())
    assert prepared.env.get("GOOD") == "fine"
    assert "LD_PRELOAD" not in prepared.env
    assert any("LD_PRELOAD" in w.message for w in prepared.warnings)


def test_the_sidecar_drops_settings_that_would_bypass_the_effective_config() -> None:
    from sidecar.entry import prepare_environment

    environ = {
        "LITELLM_CONFIG_BUCKET_NAME": "bucket",
        "LITELLM_CONFIG_BUCKET_TYPE": "s3",
        "LITELLM_CONFIG_BUCKET_OBJECT_KEY": "cfg.yaml",
        "LITELLM_MODE": "DEV",
        "SSLKEYLOGFILE": "/tmp/keys",
        "DATABASE_URL": "postgres://x",
        "CORP_PROJECT": "kept",
    }
    prepare_environment(environ)
    assert environ["CORP_PROJECT"] == "kept"
    for gone in ("LITELLM_CONFIG_BUCKET_NAME", "LITELLM_MODE", "SSLKEYLOGFILE", "DATABASE_URL"):
        assert gone not in environ
