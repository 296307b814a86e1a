from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.config.cliutil import run
from tray_agent.config import list_templates, render_effective, resolve_template, validate_file
from tray_agent.config.refs import env_names
from tray_agent.config.templates import TemplateError, instantiate
from tray_agent.config.validate import EXEMPT_ENV

OFFICIAL = ("demo", "openai-compatible", "multi-model")


def test_official_templates_are_listed_with_a_description() -> None:
    found = {t.name: t for t in list_templates()}
    for name in OFFICIAL:
        assert name in found
        assert found[name].description, f"{name} has no '# description:' line"


def test_templates_command_prints_one_line_per_template(home: Path) -> None:
    result = run("templates")
    assert result.code == 0
    lines = result.out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(t.name for t in list_templates())
    demo = next(line for line in lines if line.startswith("demo "))
    assert "mock_response" in demo


def test_templates_command_prints_a_template(home: Path) -> None:
    result = run("templates", "demo")
    assert result.code == 0
    assert "model_list:" in result.out


def test_resolve_by_path(tmp_path: Path) -> None:
    own = tmp_path / "mine.yaml"
    own.write_text("# description: my own\nmodel_list: []\n")
    template = resolve_template(str(own))
    assert template.path == own
    assert template.description == "my own"


def test_unknown_template_lists_known_ones() -> None:
    with pytest.raises(TemplateError) as info:
        resolve_template("nope")
    for name in OFFICIAL:
        assert name in str(info.value)


def test_missing_template_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not found"):
        resolve_template(str(tmp_path / "absent.yaml"))


@pytest.mark.parametrize("name", OFFICIAL)
def test_each_template_validates_clean_with_its_env_entries(name: str) -> None:
    template = resolve_template(name)
    needed = env_names(yaml.safe_load(template.text())) - EXEMPT_ENV
    issues = validate_file(template.path, env_names=needed)
    assert [i.format() for i in issues] == []
    missing = validate_file(template.path, env_names=set())
    assert {i.message.split()[3] for i in missing} == needed


@pytest.mark.parametrize("name", OFFICIAL)
def test_each_template_renders(name: str) -> None:
    rendered = render_effective(resolve_template(name).path)
    assert rendered.port == 4000
    assert rendered.model_names


def test_demo_answers_any_model_offline() -> None:
    data = yaml.safe_load(resolve_template("demo").text())
    models = {m["model_name"]: m["litellm_params"] for m in data["model_list"]}
    assert "*" in models, "a wildcard entry catches claude-*, gemini-*, gpt-* names"
    assert all(p.get("mock_response") for p in models.values())
    assert not any("api_base" in p for p in models.values())
    rendered = render_effective(resolve_template("demo").path)
    assert rendered.inject == {}
    assert not rendered.needs_token


def test_openai_compatible_carries_token_and_project() -> None:
    template = resolve_template("openai-compatible")
    data = yaml.safe_load(template.text())
    params = data["model_list"][0]["litellm_params"]
    assert params["model"].startswith("hosted_vllm/")
    assert data["router_settings"]["disable_cooldowns"] is True
    assert data["bridge"]["iam"]["kind"] == "json"
    rendered = render_effective(template.path)
    assert rendered.inject["corp-llm"] == {
        "token": ["token"],
        "env": {"project": "CORP_PROJECT"},
        "literal": {},
    }
    assert rendered.iam is not None and rendered.iam.kind == "json"


def test_multi_model_routes_anthropic_names() -> None:
    rendered = render_effective(resolve_template("multi-model").path)
    assert len([n for n in rendered.model_names if "*" not in n]) >= 2
    assert "claude-*" in rendered.model_names
    assert rendered.inject["claude-*"]["token"] == ["token"]
    assert rendered.inject["corp-chat"]["literal"] == {"client": "litellm-bridge"}


def test_instantiate_sets_port_and_keeps_comments() -> None:
    text = resolve_template("openai-compatible").text()
    out = instantiate(text, 4100)
    assert yaml.safe_load(out)["bridge"]["port"] == 4100
    original = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    kept = [line for line in out.splitlines() if line.lstrip().startswith("#")]
    assert kept == original
    assert out.replace("port: 4100", "port: 4000") == text


def test_instantiate_adds_a_bridge_section_when_missing() -> None:
    out = instantiate("# hello\nmodel_list: []\n", 5000)
    assert out.startswith("# hello\n")
    assert yaml.safe_load(out)["bridge"] == {"port": 5000}
