"""Each update test: its own build cache (development keys), repository and home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def update_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("LITELLM_BRIDGE_BUILD_CACHE", str(cache))
    monkeypatch.setenv(
        "LITELLM_BRIDGE_UPDATE_TRUST_ROOT", str(cache / "keys" / "update" / "root.json")
    )
    for name in (
        "LITELLM_BRIDGE_UPDATE_KEY_DIR",
        "LITELLM_BRIDGE_UPDATE_ROOT",
        "LITELLM_BRIDGE_POLICY_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    machine = tmp_path / "machine"
    machine.mkdir(mode=0o755)
    os.chmod(machine, 0o755)  # noqa: S103 -- machine policy folders are world-readable
    monkeypatch.setenv("LITELLM_BRIDGE_MACHINE_POLICY_DIR", str(machine))
    return cache
