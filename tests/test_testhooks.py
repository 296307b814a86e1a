"""Security-relevant test hooks work in a checkout and are ignored by a frozen build unless
``LITELLM_BRIDGE_TEST_HOOKS=1`` (tray.click: tests/tray/test_frozen_hooks.py)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from tests.helpers.keyring import require_keyring
from tray_agent import testhooks
from tray_agent.config.templates import list_templates, template_dirs
from tray_agent.paths import Paths
from tray_agent.secrets import store as secret_store
from tray_agent.secrets.store import open_secret_store
from tray_agent.supervisor.sidecar import sidecar_command

FAKE_SIDECAR = "/opt/elsewhere/not-the-sidecar --flag"


@pytest.fixture(autouse=True)
def _fresh_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testhooks, "_logged", set())
    monkeypatch.delenv(testhooks.ENABLE_ENV, raising=False)


def frozen(monkeypatch: pytest.MonkeyPatch, hooks: bool = False) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    if hooks:
        monkeypatch.setenv(testhooks.ENABLE_ENV, "1")


def test_sidecar_command_hook_works_in_a_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITELLM_BRIDGE_SIDECAR_CMD", FAKE_SIDECAR)
    assert sidecar_command() == ["/opt/elsewhere/not-the-sidecar", "--flag"]


def test_frozen_build_ignores_the_sidecar_command_hook(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("LITELLM_BRIDGE_SIDECAR_CMD", FAKE_SIDECAR)
    frozen(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="tray_agent.testhooks"):
        command = sidecar_command()
        sidecar_command()
    assert len(command) == 1 and Path(command[0]).name == "litellm-bridge-sidecar"
    assert Path(command[0]).parent == Path(sys.executable).resolve().parent
    ignored = [r.getMessage() for r in caplog.records]
    assert len(ignored) == 1, "the ignored hook is logged once, not on every launch"
    assert "LITELLM_BRIDGE_SIDECAR_CMD is set but ignored" in ignored[0]
    assert "not-the-sidecar" not in ignored[0], "the hook's value is never logged"


def test_frozen_build_honours_the_sidecar_hook_when_enabled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LITELLM_BRIDGE_SIDECAR_CMD", FAKE_SIDECAR)
    frozen(monkeypatch, hooks=True)
    assert sidecar_command()[0] == "/opt/elsewhere/not-the-sidecar"


def test_secret_store_hook_forces_memory_in_a_checkout(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITELLM_BRIDGE_SECRET_STORE", "memory")
    assert not open_secret_store(paths.keyring_namespace).persistent


def test_frozen_build_ignores_the_secret_store_hook(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A planted ``LITELLM_BRIDGE_SECRET_STORE=memory`` cannot make a packaged agent forget
    its secrets: the keyring is used as if the variable were not there."""
    monkeypatch.setenv("LITELLM_BRIDGE_SECRET_STORE", "memory")
    monkeypatch.setattr(secret_store, "_warned", False)
    frozen(monkeypatch)
    require_keyring(open_secret_store(paths.keyring_namespace))
    frozen(monkeypatch, hooks=True)
    assert not open_secret_store(paths.keyring_namespace).persistent


def test_templates_hook_comes_first_in_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "demo.yaml").write_text("# description: planted\nmodel_list: []\n")
    monkeypatch.setenv("LITELLM_BRIDGE_TEMPLATES", str(planted))
    assert template_dirs()[0] == planted
    assert {t.name: t for t in list_templates()}["demo"].path == planted / "demo.yaml"


def test_frozen_build_ignores_the_templates_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "demo.yaml").write_text("# description: planted\nmodel_list: []\n")
    monkeypatch.setenv("LITELLM_BRIDGE_TEMPLATES", str(planted))
    frozen(monkeypatch)
    assert planted not in template_dirs()
    assert {t.name: t for t in list_templates()}["demo"].description != "planted"
    frozen(monkeypatch, hooks=True)
    assert template_dirs()[0] == planted


def test_only_registered_hooks_can_be_read() -> None:
    with pytest.raises(ValueError, match="not a registered test hook"):
        testhooks.hook_env("LITELLM_BRIDGE_HOME")
