from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from tests.config.cliutil import run
from tests.config.test_validate import GOOD
from tray_agent.config import ConfigInvalid, render_effective, write_effective
from tray_agent.config.schema import HOOK_CALLBACK
from tray_agent.envstore import EnvStore
from tray_agent.paths import get_paths
from tray_agent.secrets import open_secret_store


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(GOOD + "  port: 4555\n  notify_before: 120\n")
    return path


def test_bridge_and_extra_body_are_removed(config: Path) -> None:
    rendered = render_effective(config)
    data = yaml.safe_load(rendered.text)
    assert "bridge" not in data
    assert "extra_body" not in data["model_list"][0]["litellm_params"]
    assert "LITELLM_BRIDGE_TOKEN" not in rendered.text
    assert data["model_list"][0]["litellm_params"]["api_key"] == "os.environ/CORP_LLM_KEY"


def test_extra_body_becomes_the_injection_spec(config: Path) -> None:
    text = config.read_text().replace(
        "        project: os.environ/CORP_PROJECT\n",
        "        project: os.environ/CORP_PROJECT\n        client: bridge\n        tier: 2\n",
    )
    config.write_text(text)
    rendered = render_effective(config)
    assert rendered.inject == {
        "corp-llm": {
            "token": ["token"],
            "env": {"project": "CORP_PROJECT"},
            "literal": {"client": "bridge", "tier": 2},
        }
    }
    assert json.loads(rendered.inject_json) == rendered.inject
    assert rendered.needs_token


def test_port_models_and_bridge_settings(config: Path) -> None:
    rendered = render_effective(config)
    assert rendered.port == 4555
    assert rendered.notify_before == 120
    assert rendered.model_names == ["corp-llm"]
    assert rendered.iam is not None and rendered.iam.token_path == "data.session.jwt"
    assert rendered.env_names == {"CORP_LLM_KEY", "CORP_PROJECT"}


def test_master_key_hook_and_cooldowns_are_wired_in(config: Path) -> None:
    config.write_text(
        config.read_text()
        + "litellm_settings:\n  callbacks: custom.handler\n"
        + "general_settings:\n  master_key: sk-1234\n"
    )
    rendered = render_effective(config)
    data = yaml.safe_load(rendered.text)
    assert data["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    assert "sk-1234" not in rendered.text
    assert data["litellm_settings"]["callbacks"] == ["custom.handler", HOOK_CALLBACK]
    assert data["router_settings"]["disable_cooldowns"] is True
    assert [w.severity for w in rendered.warnings] == ["warning"]


def test_explicit_cooldowns_setting_is_kept(config: Path) -> None:
    config.write_text(config.read_text() + "router_settings:\n  disable_cooldowns: false\n")
    data = yaml.safe_load(render_effective(config).text)
    assert data["router_settings"]["disable_cooldowns"] is False


def test_hook_is_not_added_twice(config: Path) -> None:
    config.write_text(config.read_text() + f"litellm_settings:\n  callbacks: [{HOOK_CALLBACK}]\n")
    data = yaml.safe_load(render_effective(config).text)
    assert data["litellm_settings"]["callbacks"] == [HOOK_CALLBACK]


def test_invalid_config_raises_with_issues(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list:\n  - model_name: x\n")
    with pytest.raises(ConfigInvalid) as info:
        render_effective(bad)
    assert info.value.issues[0].line == 2
    assert f"{bad}:2:5" in str(info.value)


def test_effective_file_is_private_and_holds_no_secret_value(home: Path) -> None:
    paths = get_paths()
    paths.ensure()
    paths.config_file.write_text(GOOD)
    store = EnvStore(paths.env_file, open_secret_store(paths.keyring_namespace))
    if store.secrets.persistent:
        store.set("CORP_LLM_KEY", "sk-very-secret-value-123", secret=True)
    else:
        store.set("CORP_LLM_KEY", "sk-very-secret-value-123", secret=False)
    store.set("CORP_PROJECT", "project-plain-value-456", secret=False)
    target = write_effective(paths, render_effective(paths.config_file))
    assert target == paths.effective_config
    if os.name != "nt":
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    for value in ("sk-very-secret-value-123", "project-plain-value-456"):
        assert value not in text
    assert "os.environ/CORP_LLM_KEY" in text
    assert not list(target.parent.glob(".*.tmp"))


def test_config_show_prints_the_effective_config(home: Path) -> None:
    assert run("init", "--template", "openai-compatible", "--non-interactive").code == 0
    result = run("config", "show")
    assert result.code == 0
    assert "bridge:" not in result.out
    assert "sidecar.bridge_hook.bridge_hook" in result.out
    assert '"token": ["token"]' in result.out


def test_config_path_prints_the_config_file(home: Path) -> None:
    assert run("config", "path").out.strip() == str(get_paths().config_file)


def test_fast_path_switch_reaches_the_sidecar_environment(home: Path) -> None:
    from tray_agent.config.prepare import prepare as prepare_from_files

    paths = get_paths()
    paths.ensure()
    secrets = open_secret_store(paths.keyring_namespace)
    store = EnvStore(paths.env_file, secrets)
    store.set("CORP_LLM_KEY", "not-a-secret", secret=False)
    store.set("CORP_PROJECT", "p1", secret=False)
    paths.config_file.write_text(GOOD)
    on = prepare_from_files(paths, secrets)
    assert "LITELLM_BRIDGE_FAST_PATH" not in on.env  # default: on
    paths.config_file.write_text(GOOD + "  fast_path: false\n")
    off = prepare_from_files(paths, secrets)
    assert off.env["LITELLM_BRIDGE_FAST_PATH"] == "off"
    assert off.digest != on.digest  # a changed switch is applied like any other edit


def test_fast_path_must_be_a_boolean() -> None:
    from tray_agent.config.validate import validate_text

    issues = validate_text(
        GOOD + "  fast_path: maybe\n", env_names={"CORP_LLM_KEY", "CORP_PROJECT"}
    )
    assert len(issues) == 1 and "bridge.fast_path" in issues[0].message
    assert issues[0].line == 17
