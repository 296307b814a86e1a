"""The sidecar refuses to start on problems the agent or user must fix (exit code 2)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers.sidecar import launch_sidecar, mock_model, write_effective_config

pytestmark = pytest.mark.timeout(60)


def run_refused(config: Path, master_key: str) -> tuple[int, str]:
    sidecar = launch_sidecar(config, master_key=master_key)
    code = sidecar.wait(30)
    return code, sidecar.log()


def test_missing_config_exits_2_with_message(tmp_path: Path) -> None:
    code, log = run_refused(tmp_path / "nope.yaml", "sk-" + "a" * 40)
    assert code == 2
    assert "config file not found" in log
    assert "nope.yaml" in log


def test_missing_master_key_exits_2_with_message(tmp_path: Path) -> None:
    config = write_effective_config(tmp_path, [mock_model("demo")])
    code, log = run_refused(config, "")
    assert code == 2
    assert "LITELLM_MASTER_KEY is not set" in log


def test_well_known_master_key_exits_2_with_message(tmp_path: Path) -> None:
    config = write_effective_config(tmp_path, [mock_model("demo")])
    code, log = run_refused(config, "sk-1234")
    assert code == 2
    assert "well-known" in log


def test_bad_injection_spec_exits_2_with_message(tmp_path: Path) -> None:
    config = write_effective_config(tmp_path, [mock_model("demo")])
    sidecar = launch_sidecar(config, extra_env={"LITELLM_BRIDGE_INJECT": "{not json"})
    assert sidecar.wait(30) == 2
    assert "LITELLM_BRIDGE_INJECT is not valid JSON" in sidecar.log()


def test_refusal_happens_before_importing_litellm(tmp_path: Path) -> None:
    began = time.monotonic()
    code, _ = run_refused(tmp_path / "nope.yaml", "sk-" + "a" * 40)
    assert code == 2
    assert time.monotonic() - began < 5


def test_stdin_eof_during_startup_exits_promptly(tmp_path: Path) -> None:
    config = write_effective_config(tmp_path, [mock_model("demo")])
    sidecar = launch_sidecar(config)
    time.sleep(0.5)  # still importing litellm
    began = time.monotonic()
    sidecar.close_stdin()
    sidecar.wait(10)
    assert time.monotonic() - began < 5
    assert sidecar.events == []
