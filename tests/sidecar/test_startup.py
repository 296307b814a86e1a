"""The sidecar refuses to start on problems the agent or user must fix (exit code 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers.sidecar import launch_sidecar, mock_model, write_effective_config
from tests.helpers.wait import wait_until

pytestmark = pytest.mark.timeout(300)
# Python logs each import to stderr (the sidecar log): shows what was imported, and when.
IMPORT_LOG = {"PYTHONPROFILEIMPORTTIME": "1"}
LITELLM_IMPORT = re.compile(r"^import time:.*\|\s+litellm(\.|$)", re.MULTILINE)


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
    # How long it takes: bench/sidecar_exit.py. Here: the import log names no litellm module.
    sidecar = launch_sidecar(
        tmp_path / "nope.yaml", master_key="sk-" + "a" * 40, extra_env=IMPORT_LOG
    )
    assert sidecar.wait(60) == 2
    imported = [
        line.rsplit("|", 1)[-1].strip()
        for line in sidecar.log().splitlines()
        if line.startswith("import time:")
    ]
    assert "sidecar" in imported, "no import log: the check is blind"
    assert not [name for name in imported if name.split(".")[0] == "litellm"]


def test_stdin_eof_during_startup_exits_promptly(tmp_path: Path) -> None:
    config = write_effective_config(tmp_path, [mock_model("demo")])
    sidecar = launch_sidecar(config, extra_env=IMPORT_LOG)
    # Close stdin while litellm is being imported, long before the sidecar could be ready.
    wait_until(
        lambda: sidecar.proc.poll() is not None or LITELLM_IMPORT.search(sidecar.log()),
        120,
        "the sidecar to import litellm",
    )
    sidecar.close_stdin()
    # It exits without finishing its start (no "ready"); bench/sidecar_exit.py times it.
    assert sidecar.wait(120) == 0, sidecar.log()[-2000:]
    assert sidecar.events == []
