"""Diagnostics without an agent: contents, masking of literal secrets, where the zip goes."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import yaml

from tray_agent.diagnostics import build_zip, export_diagnostics
from tray_agent.diagnostics.bundle import redact_data
from tray_agent.paths import get_paths
from tray_agent.secrets import MemoryStore

LITERAL = "literal-upstream-key-0042"


def test_literal_secrets_in_config_are_masked_and_references_kept(home: Path) -> None:
    paths = get_paths()
    paths.ensure()
    cfg = {
        "model_list": [
            {
                "model_name": "m",
                "litellm_params": {"model": "openai/m", "api_key": LITERAL, "api_base": "http://x"},
            },
            {"model_name": "n", "litellm_params": {"model": "openai/n", "api_key": "os.environ/K"}},
        ],
        "bridge": {
            "iam": {
                "kind": "json",
                "url": "https://iam",
                "headers": {"Authorization": "Basic c2VjcmV0LWhlYWRlcg=="},
            }
        },
    }
    paths.config_file.write_text(yaml.safe_dump(cfg))
    (paths.log_dir / "agent.log").write_text("2024-01-01T00:00:00.000Z INFO    core x\n")
    data = build_zip(paths, secrets=MemoryStore(), include_doctor=False)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        text = zf.read("config/config.yaml").decode()
        about = json.loads(zf.read("about.json"))
        assert "logs/agent.log" in zf.namelist()
    assert LITERAL not in text and "c2VjcmV0LWhlYWRlcg" not in text
    assert "os.environ/K" in text
    assert about["agent_running"] is False
    assert {"litellm_bridge", "litellm", "python", "os"} <= set(about["versions"])


def test_redact_data_keeps_paths_and_references() -> None:
    out = redact_data({"ca_bundle_path": "/x", "token_path": "a.b", "client_secret": "s3", "k": 1})
    assert out == {
        "ca_bundle_path": "/x",
        "token_path": "a.b",
        "client_secret": "[REDACTED]",
        "k": 1,
    }


def test_target_is_timestamped_inside_a_directory(home: Path, tmp_path: Path) -> None:
    paths = get_paths()
    paths.ensure()
    new_dir = str(tmp_path / "new") + "/"
    out = export_diagnostics(paths, new_dir)
    assert out.parent == (tmp_path / "new").resolve()
    assert out.name.startswith("litellm-bridge-diagnostics-") and out.suffix == ".zip"
    default = export_diagnostics(paths, None)
    assert default.parent == (paths.data_dir / "diagnostics").resolve()
