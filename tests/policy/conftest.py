"""Every policy test reads an empty machine directory unless it points the hook elsewhere,
so a real /etc/litellm-bridge on the test machine never leaks in."""

# Policy files must be world-readable, and some tests make them writable on purpose.
# ruff: noqa: S103

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def empty_machine_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    machine = tmp_path / "machine"
    machine.mkdir(mode=0o755)
    os.chmod(machine, 0o755)
    monkeypatch.setenv("LITELLM_BRIDGE_MACHINE_POLICY_DIR", str(machine))
    monkeypatch.delenv("LITELLM_BRIDGE_POLICY_DIR", raising=False)
    monkeypatch.delenv("LITELLM_BRIDGE_POLICY_PUBLIC_KEY", raising=False)
    return machine
