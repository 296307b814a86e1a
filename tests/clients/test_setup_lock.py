"""A setup never writes over a change made after it was planned (another setup, the user)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tray_agent.clients import ClientsError
from tray_agent.clients.base import Target
from tray_agent.clients.claude_code import ClaudeCode
from tray_agent.clients.setup import apply_setup, backups_root, plan_setup, restore
from tray_agent.paths import get_paths


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Target:
    user = tmp_path / "user"
    user.mkdir()
    monkeypatch.setenv("HOME", str(user))
    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(user / "bridge"))
    for var in ("CLAUDE_CONFIG_DIR", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    get_paths().ensure()
    return Target(
        url="http://127.0.0.1:4747",
        key="sk-bridge-test-key-0123456789",
        paths=get_paths(),
        model=None,
        key_command=("litellm-bridge", "key"),
    )


def test_a_file_changed_after_planning_is_not_overwritten(target: Target) -> None:
    client = ClaudeCode()
    (spec, *_) = client.files(target)
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    spec.path.write_text('{"theme": "dark"}\n')
    plan = plan_setup(client, target, environ={})
    spec.path.write_text('{"theme": "light", "mine": 1}\n')  # e.g. another setup, or the user
    with pytest.raises(ClientsError, match="changed while the setup was being prepared") as info:
        apply_setup(plan)
    assert str(spec.path) in str(info.value)
    assert spec.path.read_text() == '{"theme": "light", "mine": 1}\n'
    root = backups_root(target.paths, client.name)
    assert not root.exists() or not any(p.is_dir() for p in root.iterdir()), "no stale backup"
    # Planned again, it merges into what is there now, and restore gives exactly that back.
    apply_setup(plan_setup(client, target, environ={}))
    restore(target.paths, client)
    assert spec.path.read_text() == '{"theme": "light", "mine": 1}\n'
