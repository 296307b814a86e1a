from __future__ import annotations

from pathlib import Path

import pytest

from tests.config.cliutil import run
from tray_agent.config import ConfigIssue, validate_file, validate_text

GOOD = """\
model_list:
  - model_name: corp-llm
    litellm_params:
      model: hosted_vllm/corp-llm
      api_base: https://llm.internal.example/v1
      api_key: os.environ/CORP_LLM_KEY
      extra_body:
        token: os.environ/LITELLM_BRIDGE_TOKEN
        project: os.environ/CORP_PROJECT
bridge:
  iam:
    kind: json
    url: https://iam.internal.example/api/v2/session
    body: {"staff": {"id": "{employee_id}", "secret": "{password}"}}
    token_path: data.session.jwt
    expires_at_path: data.session.valid_until
"""
ENV = {"CORP_LLM_KEY", "CORP_PROJECT"}


def only(issues: list[ConfigIssue]) -> ConfigIssue:
    assert len(issues) == 1, [i.format() for i in issues]
    return issues[0]


def test_the_issue_example_is_clean() -> None:
    assert validate_text(GOOD, env_names=ENV) == []


@pytest.mark.parametrize(
    ("text", "line", "col", "words"),
    [
        ("model_list:\n  - model_name: a\n   bad: [\n", 3, 4, "syntax"),
        ("model_list: [\n", 2, 1, "syntax"),
        ("a: b: c\n", 1, 5, "mapping values"),
        ("model_list:\n\t- x\n", 2, 1, "syntax"),
        ('model_list:\n  - model_name: "open\n', 3, 1, "syntax"),
        ("x: 1\nx: 2\n", 2, 1, "duplicate key 'x'"),
    ],
)
def test_yaml_syntax_errors_have_line_and_column(
    text: str, line: int, col: int, words: str
) -> None:
    issue = only([i for i in validate_text(text, "c.yaml") if words in i.message])
    assert (issue.line, issue.column) == (line, col)
    assert words in issue.message
    assert issue.hint
    assert issue.format().startswith(f"c.yaml:{line}:{col}: error: ")


def test_wrong_types_point_at_the_value() -> None:
    text = GOOD.replace("model_name: corp-llm", "model_name: [1, 2]")
    text += "  port: high\n  notify_before: 1.5\n"
    issues = validate_text(text, env_names=ENV)
    where = {(i.line, i.column): i.message for i in issues}
    assert "model_list[0].model_name" in where[(2, 17)]
    assert "bridge.port" in where[(17, 9)]
    assert "bridge.notify_before" in where[(18, 18)]
    assert len(issues) == 3


def test_port_out_of_range_is_reported_with_the_range() -> None:
    issue = only(validate_text(GOOD + "  port: 80\n", env_names=ENV))
    assert (issue.line, issue.column) == (17, 9)
    assert issue.hint and "1024" in issue.hint and "65535" in issue.hint


@pytest.mark.parametrize(
    ("old", "new", "line", "col", "suggestion"),
    [
        ("bridge:\n", "bridge:\n  prot: 4000\n", 11, 3, "port"),
        ("model_list:\n", "modle_list: []\nmodel_list:\n", 1, 1, "model_list"),
        ("    litellm_params:\n", "    model_infoo: {}\n    litellm_params:\n", 3, 5, "model_info"),
        ("    token_path:", "    tokenpath: x\n    token_path:", 15, 5, "token_path"),
    ],
)
def test_unknown_keys_suggest_the_closest(
    old: str, new: str, line: int, col: int, suggestion: str
) -> None:
    issue = only(validate_text(GOOD.replace(old, new, 1), env_names=ENV))
    assert (issue.line, issue.column) == (line, col)
    assert issue.message.startswith("unknown key")
    assert issue.hint == f"did you mean '{suggestion}'?"


def test_unknown_keys_inside_litellm_sections_are_allowed() -> None:
    text = GOOD + (
        "litellm_settings:\n  drop_params: true\n  some_future_setting: 3\n"
        "router_settings:\n  routing_strategy: simple-shuffle\n"
        "general_settings:\n  disable_spend_logs: true\n"
    )
    text = text.replace(
        "      api_base:", "      rpm: 10\n      brand_new_param: x\n      api_base:"
    )
    assert validate_text(text, env_names=ENV) == []


def test_missing_required_key_points_at_its_parent() -> None:
    text = GOOD.replace("      model: hosted_vllm/corp-llm\n", "")
    issue = only(validate_text(text, env_names=ENV))
    assert (issue.line, issue.column) == (3, 5)
    assert "missing required key 'model'" in issue.message


def test_missing_env_entries_name_the_command_to_run() -> None:
    issues = validate_text(GOOD, "c.yaml", env_names={"CORP_PROJECT"})
    issue = only(issues)
    assert (issue.line, issue.column) == (6, 16)
    assert "CORP_LLM_KEY" in issue.message
    assert issue.hint == "add it: litellm-bridge env set CORP_LLM_KEY --secret"
    issue = only(validate_text(GOOD, env_names={"CORP_LLM_KEY"}))
    assert (issue.line, issue.column) == (9, 18)
    assert issue.hint == "add it: litellm-bridge env set CORP_PROJECT VALUE"


def test_disabled_env_entry_says_how_to_enable_it() -> None:
    issue = only(validate_text(GOOD, env_names={"CORP_PROJECT"}, disabled_names={"CORP_LLM_KEY"}))
    assert issue.hint == "enable it: litellm-bridge env enable CORP_LLM_KEY"


def test_token_and_master_key_need_no_env_entry() -> None:
    text = GOOD + "general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\n"
    assert validate_text(text, env_names=ENV) == []


def test_token_outside_extra_body_is_an_error() -> None:
    text = GOOD.replace("os.environ/CORP_LLM_KEY", "os.environ/LITELLM_BRIDGE_TOKEN")
    issue = only(validate_text(text, env_names=ENV))
    assert (issue.line, issue.column) == (6, 16)
    assert "extra_body" in issue.message


def test_env_checks_are_skipped_without_env_names() -> None:
    assert validate_text(GOOD) == []


def test_invalid_env_reference_name() -> None:
    text = GOOD.replace("os.environ/CORP_PROJECT", "os.environ/CORP-PROJECT")
    issue = only(validate_text(text, env_names=ENV))
    assert "not name a valid environment variable" in issue.message


def test_literal_api_key_is_a_warning() -> None:
    text = GOOD.replace("os.environ/CORP_LLM_KEY", "sk-live-abc")
    issue = only(validate_text(text, env_names=ENV))
    assert issue.severity == "warning"
    assert not issue.is_error


def test_same_model_name_with_different_extra_body() -> None:
    entry = GOOD.split("bridge:")[0].split("model_list:\n")[1]
    text = GOOD.replace(entry, entry + entry.replace("CORP_PROJECT", "OTHER_PROJECT"), 1)
    issues = validate_text(text, env_names={*ENV, "OTHER_PROJECT"})
    assert "different extra_body" in only(issues).message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("# only a comment\n", "empty"),
        ("- a\n- b\n", "must be a mapping"),
        ("model_list: []\n", "at least 1"),
        ("bridge: {}\n", "missing required key 'model_list'"),
        ("model_list: [{model_name: a, litellm_params: {model: m}}]\nd: 2024-02-30\n", "YAML"),
    ],
)
def test_degenerate_documents(text: str, words: str) -> None:
    issues = validate_text(text)
    assert issues and any(words in i.message for i in issues), [i.format() for i in issues]


def test_file_problems_are_issues(tmp_path: Path) -> None:
    assert "not found" in only(validate_file(tmp_path / "absent.yaml")).message
    assert "directory" in only(validate_file(tmp_path)).message
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"model_list:\n  - \xff\xfe\n")
    issue = only(validate_file(binary))
    assert (issue.line, issue.column) == (2, 5)
    assert "UTF-8" in issue.message


def test_validate_command_exit_codes(home: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    result = run("config", "validate", str(good))
    assert result.code == 1
    assert f"{good}:6:16: error: no env entry CORP_LLM_KEY" in result.out
    assert "hint: add it: litellm-bridge env set CORP_LLM_KEY --secret" in result.out
    assert run("config", "validate", "--no-env", str(good)).code == 0
    assert run("env", "set", "CORP_PROJECT", "p").code == 0
    assert run("env", "set", "CORP_LLM_KEY", "k", "--plain").code == 0
    result = run("config", "validate", str(good))
    assert result.code == 0, result.out
    assert "OK" in result.out and result.err == ""  # a pass is a result, not a warning


def test_validate_command_defaults_to_config_yaml(home: Path) -> None:
    result = run("config", "validate")
    assert result.code == 1
    assert "config file not found" in result.out
    assert run("init", "--template", "demo", "--non-interactive").code == 0
    assert run("config", "validate").code == 0
