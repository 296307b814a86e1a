"""The validator reports issues for any input and never raises."""

from __future__ import annotations

import copy

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tray_agent.config import ConfigIssue, list_templates, validate_text

TEMPLATES = [t.text() for t in list_templates()]
TEMPLATE_DATA = [yaml.safe_load(t) for t in TEMPLATES]
YAML_CHARS = st.sampled_from([*list(":-[]{}#&*!|>'\",%@`?\\ \n\t\r\ufeff"), "os.environ/", "<<"])
WORDS = st.sampled_from(
    [
        "model_list",
        "bridge",
        "port",
        "iam",
        "kind",
        "json",
        "litellm_params",
        "model_name",
        "extra_body",
        "model",
        "a",
        "1",
        "true",
        "null",
        "~",
        "4000",
        "2024-02-30",
        "!!binary",
        "&x",
        "*x",
        "  ",
        "- ",
        ": ",
        "\n  ",
        "os.environ/LITELLM_BRIDGE_TOKEN",
        "1e999",
        "0x1F",
    ]
)

PROFILE = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(text: str) -> list[ConfigIssue]:
    issues = validate_text(text, "c.yaml", env_names={"A"}, disabled_names={"B"})
    lines = text.count("\n") + text.count("\r") + 2
    for issue in issues:
        assert isinstance(issue, ConfigIssue)
        assert issue.severity in ("error", "warning")
        assert issue.line >= 1 and issue.column >= 1
        assert issue.line <= lines, issue
        assert "internal error" not in issue.message, issue.message
        assert issue.message
    assert issues == validate_text(text, "c.yaml", env_names={"A"}, disabled_names={"B"})
    return issues


@PROFILE
@given(st.text())
def test_any_text(text: str) -> None:
    check(text)


@PROFILE
@given(st.lists(st.one_of(YAML_CHARS, WORDS), max_size=60).map("".join))
def test_yaml_like_text(text: str) -> None:
    check(text)


@st.composite
def mutated_template(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(TEMPLATES))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        op = draw(st.sampled_from(["delete", "insert", "dup", "indent", "dedent", "cut", "swap"]))
        if op == "delete":
            del lines[i]
        elif op == "insert":
            pos = draw(st.integers(0, len(lines[i])))
            extra = draw(st.one_of(YAML_CHARS, WORDS))
            lines[i] = lines[i][:pos] + extra + lines[i][pos:]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][2:]
        elif op == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        else:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        text = "\n".join(lines)
    return text


@PROFILE
@given(mutated_template())
def test_mutated_templates(text: str) -> None:
    check(text)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["os.environ/A", "os.environ/B", "os.environ/C", "os.environ/9", "json"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=12), st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "model_list",
        "bridge",
        "litellm_settings",
        "router_settings",
        "general_settings",
        "include",
        "model_name",
        "litellm_params",
        "extra_body",
        "model",
        "port",
        "iam",
        "kind",
        "url",
        "token_path",
        "expires_at_path",
        "callbacks",
        "master_key",
        "api_key",
    ]
)


@st.composite
def structured_config(draw: st.DrawFn) -> str:
    """A plausible config with random values grafted at known keys."""
    data = copy.deepcopy(draw(st.sampled_from(TEMPLATE_DATA)))

    def graft(node: object, depth: int) -> None:
        if depth > 4:
            return
        if isinstance(node, dict) and node:
            key = draw(st.sampled_from(sorted(node, key=str)))
            if draw(st.booleans()):
                node[key] = draw(VALUES)
            else:
                graft(node[key], depth + 1)
            if draw(st.booleans()):
                node[draw(KEYS)] = draw(VALUES)
        elif isinstance(node, list) and node:
            i = draw(st.integers(0, len(node) - 1))
            if draw(st.booleans()):
                node[i] = draw(VALUES)
            else:
                graft(node[i], depth + 1)

    graft(data, 0)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)


@settings(PROFILE, max_examples=150)
@given(structured_config())
def test_structured_configs(text: str) -> None:
    check(text)


def test_recursive_aliases_are_reported_not_fatal() -> None:
    text = "model_list: &a [*a]\nbridge: &b {x: *b}\n"
    issues = check(text)
    assert any(i.is_error for i in issues)
