"""``include:`` is merged by the bridge: every file bounded, checked and located, one effective
config that names no other file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tests.config.cliutil import validate_child
from tests.config.test_validate_expansion import bomb, line_of, long_string_bomb
from tray_agent.config import ConfigInvalid, render_effective, validate_file
from tray_agent.config.schema import HOOK_CALLBACK

MAIN = """\
include:
  - {include}
model_list:
  - model_name: main-model
    litellm_params: {{model: openai/main, mock_response: hi}}
general_settings: {{alerting: []}}
"""
INCLUDED = """\
model_list:
  - model_name: included-model
    litellm_params:
      model: openai/included
      mock_response: hi
      extra_body:
        token: os.environ/LITELLM_BRIDGE_TOKEN
        project: os.environ/INCLUDED_PROJECT
"""


def write(tmp_path: Path, included: str, name: str = "models.yaml") -> Path:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(included)
    config = tmp_path / "config.yaml"
    config.write_text(MAIN.format(include=name))
    return config


def test_alias_bomb_in_an_included_file_is_refused_by_validate_at_its_anchor(
    tmp_path: Path,
) -> None:
    text = bomb()
    config = write(tmp_path, text)
    started = time.monotonic()
    r = validate_child(tmp_path / "home", config)
    assert r.returncode == 1, r.stdout + r.stderr
    line, col = line_of(text, "&l3")
    assert f"{tmp_path / 'models.yaml'}:{line}:{col}: error: alias *l3" in r.stdout, r.stdout
    assert "more than 100000 YAML nodes" in r.stdout
    assert time.monotonic() - started < 20


def test_included_files_share_the_text_budget_with_the_config(tmp_path: Path) -> None:
    # Each file alone is under 8 MiB of text (5 MB); together they are not.
    included = long_string_bomb(49).replace("demo", "other")
    config = tmp_path / "config.yaml"
    (tmp_path / "models.yaml").write_text(included)
    config.write_text("include: [models.yaml]\n" + long_string_bomb(49))
    assert validate_file(tmp_path / "models.yaml") == []
    (issue,) = validate_file(config)
    line, col = line_of(included, "&s")
    assert (issue.file, issue.line, issue.column) == (str(tmp_path / "models.yaml"), line, col)
    assert "more than 8 MiB of text" in issue.message


@pytest.mark.parametrize("key", ["general_settings", "litellm_settings", "bridge"])
def test_an_included_file_may_not_replace_the_sections_the_bridge_manages(
    tmp_path: Path, key: str
) -> None:
    included = INCLUDED + f"{key}:\n  callbacks: []\n"
    config = write(tmp_path, included)
    (issue,) = [i for i in validate_file(config, env_names={"INCLUDED_PROJECT"}) if i.is_error]
    line, _ = line_of(included, f"{key}:")
    assert (issue.file, issue.line, issue.column) == (str(tmp_path / "models.yaml"), line, 1)
    assert f"an included file may not set {key}" in issue.message
    assert issue.hint == f"move {key}: to config.yaml; included files may only add models " + (
        "and other lists"
    )
    with pytest.raises(ConfigInvalid):
        render_effective(config)


def test_included_models_are_merged_injected_and_the_effective_config_names_no_file(
    tmp_path: Path,
) -> None:
    config = write(tmp_path, INCLUDED)
    assert validate_file(config, env_names={"INCLUDED_PROJECT"}) == []
    rendered = render_effective(config)
    data = yaml.safe_load(rendered.text)
    assert "include" not in data
    assert "models.yaml" not in rendered.text
    names = [m["model_name"] for m in data["model_list"]]
    assert names == ["main-model", "included-model"]
    assert "extra_body" not in data["model_list"][1]["litellm_params"]
    assert rendered.inject["included-model"] == {
        "token": ["token"],
        "env": {"project": "INCLUDED_PROJECT"},
        "literal": {},
    }
    assert rendered.needs_token and rendered.env_names == {"INCLUDED_PROJECT"}
    assert rendered.model_names == ["main-model", "included-model"]
    assert data["general_settings"]["master_key"] == "os.environ/LITELLM_MASTER_KEY"
    assert data["general_settings"]["alerting"] == []
    assert HOOK_CALLBACK in data["litellm_settings"]["callbacks"]


def test_issues_in_included_models_are_located_in_the_included_file(tmp_path: Path) -> None:
    included = INCLUDED + "  - model_name: broken\n    litellm_params: {modell: x}\n"
    config = write(tmp_path, included)
    issues = validate_file(config, env_names=set())
    where = {(i.file, i.line, i.column): i.message for i in issues}
    models = str(tmp_path / "models.yaml")
    env_line, env_col = line_of(included, "os.environ/INCLUDED_PROJECT")
    assert "no env entry INCLUDED_PROJECT" in where[(models, env_line, env_col)]
    broken_line, broken_col = line_of(included, "litellm_params: {modell")
    assert "missing required key 'model'" in where[(models, broken_line, broken_col)]
    assert len(issues) == 2, [i.format() for i in issues]


def test_nested_includes_resolve_next_to_the_file_that_declares_them(tmp_path: Path) -> None:
    # LiteLLM's rule: a relative entry names a file next to the file that declares it.
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "more.yaml").write_text(
        "model_list:\n  - model_name: nested\n    litellm_params: {model: openai/n}\n"
    )
    config = write(tmp_path, "include: [more.yaml]\n" + INCLUDED, name="sub/models.yaml")
    rendered = render_effective(config)
    assert rendered.model_names == ["main-model", "included-model", "nested"]
    assert "include" not in yaml.safe_load(rendered.text)


def test_a_missing_included_file_is_refused_at_its_include_entry(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(MAIN.format(include="missing.yaml"))
    (issue,) = validate_file(config)
    assert (issue.file, issue.line, issue.column) == (str(config), 2, 5)
    assert issue.message.startswith("included file not found: missing.yaml")
    assert issue.hint == "create it, or remove it from include:"
