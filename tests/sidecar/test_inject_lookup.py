"""Wildcard model names in the injection spec match like LiteLLM's wildcard routing."""

from __future__ import annotations

from sidecar.inject import lookup, parse_spec

SPEC = parse_spec(
    '{"corp-llm": {"token": ["token"]}, "claude-*": {"token": ["t2"]},'
    ' "*": {"env": {"project": "P"}}, "claude-opus-*": {"token": ["t3"]}}'
)


def test_exact_name_wins_over_patterns() -> None:
    assert lookup(SPEC, "corp-llm") is SPEC["corp-llm"]


def test_most_specific_pattern_matches_first() -> None:
    assert lookup(SPEC, "claude-opus-5-5") is SPEC["claude-opus-*"]
    assert lookup(SPEC, "claude-sonnet-5-5") is SPEC["claude-*"]
    assert lookup(SPEC, "gemini-2.5-pro") is SPEC["*"]


def test_pattern_key_itself_and_unknown_models() -> None:
    assert lookup(SPEC, "claude-*") is SPEC["claude-*"]
    assert lookup(parse_spec('{"a": {}}'), "b") is None
    assert lookup(SPEC, None) is None
