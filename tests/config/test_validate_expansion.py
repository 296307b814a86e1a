"""Alias bombs and other documents that expand too far are refused where YAML is loaded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tests.config.cliutil import validate_child
from tray_agent.config import ConfigInvalid, render, render_effective, validate_text, yamlload
from tray_agent.diagnostics.bundle import redacted_yaml

ROOT = Path(__file__).resolve().parents[2]
HEAD = """\
model_list:
  - model_name: demo
    litellm_params:
      model: openai/demo
      mock_response: hi
    model_info:
"""


def bomb(levels: int = 9, width: int = 10) -> str:
    """Nine nested anchors of ten aliases each: 10**9 nodes once expanded."""
    lines = [f"      l0: &l0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"      l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return HEAD + "\n".join(lines) + "\n"


def line_of(text: str, needle: str) -> tuple[int, int]:
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n, line.index(needle) + 1
    raise AssertionError(needle)


def test_nine_deep_alias_bomb_is_refused_by_validate_quickly_with_the_anchor(
    tmp_path: Path,
) -> None:
    text = bomb()
    path = tmp_path / "config.yaml"
    path.write_text(text)
    started = time.monotonic()
    r = validate_child(tmp_path / "home", path)
    elapsed = time.monotonic() - started
    assert r.returncode == 1, r.stdout + r.stderr
    # Building &l4, a repeat of &l3 (11111 nodes each) is the one that passes the budget.
    line, col = line_of(text, "&l3")
    assert f"{path}:{line}:{col}: error: alias *l3 at line {line + 1}" in r.stdout
    assert "more than 100000 YAML nodes" in r.stdout
    assert "hint: aliases (*name) repeat their anchor" in r.stdout
    assert "Traceback" not in r.stderr
    assert elapsed < 20, elapsed


def test_a_normal_config_with_a_few_aliases_passes_and_renders_without_them(
    tmp_path: Path,
) -> None:
    text = """\
litellm_settings:
  x_info: &info {mode: chat, max_tokens: 4096, supports: &sup [tools, vision]}
  x_params: &params {model: openai/demo, mock_response: hi}
model_list:
  - model_name: a
    litellm_params: *params
    model_info: *info
  - model_name: b
    litellm_params: {<<: *params, mock_response: other}
    model_info: {<<: *info, extra: *sup}
"""
    assert validate_text(text) == [], [i.format() for i in validate_text(text)]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    rendered = render_effective(path)
    body = rendered.text.split("\n", 1)[1]
    assert "&" not in body and "*" not in body  # the sidecar meets no alias at all
    data = yaml.safe_load(body)
    assert data["model_list"][1]["model_info"]["extra"] == ["tools", "vision"]
    assert data["model_list"][1]["litellm_params"]["mock_response"] == "other"


def test_expansion_just_under_the_budget_passes_and_just_over_is_refused() -> None:
    # One anchor of 999 nodes (a list of 998 scalars) repeated: sizes add up exactly.
    base = "a: &a [" + ", ".join(["1"] * 998) + "]\n"
    under = base + "b: [" + ", ".join(["*a"] * 99) + "]\n"  # 1 + 2 + 999 + 1 + 99 * 999
    assert yamlload.load(under)["b"][0][0] == 1
    over = base + "b: [" + ", ".join(["*a"] * 101) + "]\n"
    with pytest.raises(yamlload.YamlTooLarge) as info:
        yamlload.load(over)
    assert info.value.problem_mark is not None
    assert info.value.problem_mark.line == 0 and info.value.problem_mark.column == 3


def test_recursive_alias_is_refused_at_its_anchor() -> None:
    (issue,) = validate_text("model_list: []\nbridge: &b {x: *b}\n")
    assert (issue.line, issue.column) == (2, 9)
    assert "inside its own anchor" in issue.message


def test_deep_nesting_is_refused_with_its_position() -> None:
    (issue,) = validate_text("model_list: []\nx: " + "[" * 150 + "]" * 150 + "\n")
    assert issue.line == 2 and "nests more than 100 levels" in issue.message


def test_the_diagnostics_reader_refuses_the_bomb_too(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(bomb())
    started = time.monotonic()
    note = redacted_yaml(path)
    assert note.startswith("# config.yaml not included: not valid YAML (")
    assert time.monotonic() - started < 5


def test_yaml_errors_keep_their_yaml_error_type() -> None:
    # Readers that catch yaml.YAMLError (doctor, wizard, endpoint) keep working unchanged.
    with pytest.raises(yaml.YAMLError):
        yamlload.load(bomb())
    with pytest.raises(yaml.YAMLError):
        yamlload.load("a: [\n")


def long_string_bomb(repeats: int, length: int = 100_000, char: str = "A") -> str:
    """One long quoted string repeated by aliases: few nodes, megabytes of text."""
    return HEAD + f'      s: &s "{char * length}"\n' + f"      l: [{', '.join(['*s'] * repeats)}]\n"


def test_long_string_alias_bomb_is_refused_by_validate_quickly_with_the_anchor(
    tmp_path: Path,
) -> None:
    # 500 repeats of 100 KB: 50 MB once written out, though only ~500 nodes.
    text = long_string_bomb(500)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    started = time.monotonic()
    r = validate_child(tmp_path / "home", path)
    elapsed = time.monotonic() - started
    assert r.returncode == 1, r.stdout + r.stderr
    line, col = line_of(text, "&s")
    assert f"{path}:{line}:{col}: error: alias *s at line {line + 1}" in r.stdout, r.stdout
    assert "(100000 characters of text)" in r.stdout
    assert "more than 8 MiB of text" in r.stdout
    assert "A" * 30 not in r.stdout + r.stderr  # the repeated text is not echoed
    assert elapsed < 20, elapsed
    with pytest.raises(ConfigInvalid) as info:
        render_effective(path)
    assert (info.value.issues[0].line, info.value.issues[0].column) == (line, col)


def test_a_config_just_under_the_text_budget_validates_and_renders(tmp_path: Path) -> None:
    # The anchor and 79 repeats: 8,000,000 characters, under 8 MiB (8,388,608).
    text = long_string_bomb(79)
    assert validate_text(text) == [], [i.format() for i in validate_text(text)]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    started = time.monotonic()
    rendered = render_effective(path)
    assert time.monotonic() - started < 20
    assert 8_000_000 < len(rendered.text) < render.MAX_EFFECTIVE_BYTES
    # Four more repeats pass the budget.
    (issue,) = validate_text(long_string_bomb(84))
    assert "more than 8 MiB of text" in issue.message


def test_render_refuses_an_effective_config_over_the_limit_and_writes_nothing(
    tmp_path: Path,
) -> None:
    # Within the text budget (8,000,000 characters), but each control character is written
    # out as a four-character escape: 32 MB of effective config.
    text = long_string_bomb(19, length=400_000, char="\\x01")
    assert validate_text(text) == [], [i.format() for i in validate_text(text)]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    started = time.monotonic()
    with pytest.raises(ConfigInvalid) as info:
        render_effective(path)
    assert time.monotonic() - started < 20
    (issue,) = info.value.issues
    assert issue.file == str(path) and (issue.line, issue.column) == (1, 1)
    assert "effective config would be larger than 16 MiB; nothing was written" in issue.message
    assert issue.hint and "aliases are written out in full" in issue.hint
