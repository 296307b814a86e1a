"""Wildcard model names on the fast path resolve as LiteLLM's router resolves them.

LiteLLM's own ``PatternMatchRouter`` (the router's wildcard matching) is the oracle: for
the templates' shapes and drawn names, the fast path picks the same deployment and the same
upstream model. The full request through both paths is compared in the differential tests
(``test_fast_messages_diff.py``, ``test_fast_responses_diff.py``).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sidecar.fast_routes import load_routes
from tests.sidecar.test_fast_routes import config, model

# Wildcard shapes: the shipped templates' ("*", "claude-*" onto one model), provider-style
# ("corp/*" passed on), several stars, and an exact name that must win over every pattern.
ENTRIES = [
    model("corp-llm"),
    model("*", "hosted_vllm/corp-llm"),
    model("claude-*", "hosted_vllm/corp-coder"),
    model("corp/*", "hosted_vllm/*"),
    model("gpt-*-mini", "hosted_vllm/small-*"),
    model("x-*-*", "hosted_vllm/y-*"),
    model("team::*::v*", "hosted_vllm/t-*-*"),
]


def litellm_router() -> Any:
    from litellm.router_utils.pattern_match_deployments import PatternMatchRouter

    router = PatternMatchRouter()
    for entry in ENTRIES:
        if "*" in entry["model_name"]:
            router.add_pattern(
                entry["model_name"], {**entry, "litellm_params": dict(entry["litellm_params"])}
            )
    return router


ROUTER = None


def litellm_model(name: str) -> str | None:
    """The upstream model LiteLLM's router sends ``name`` to, for a ``hosted_vllm/`` model
    (None: no pattern matches, or the result is no ``hosted_vllm/`` model)."""
    global ROUTER
    if ROUTER is None:
        ROUTER = litellm_router()
    exact = [e for e in ENTRIES if e["model_name"] == name]
    found = exact or ROUTER.route(name)
    if not found:
        return None
    provider, _, upstream = str(found[0]["litellm_params"]["model"]).partition("/")
    return upstream if provider == "hosted_vllm" else None


ROUTES = load_routes(config(*ENTRIES), {})


@pytest.mark.parametrize(
    "name",
    [
        "corp-llm",
        "claude-opus-5-5",
        "claude-",
        "gpt-6.2-sol",
        "gpt-4-mini",
        "gpt-4-mini-extra",
        "corp/coder",
        "corp/",
        "team::a::v2",
        "anything at all",
        "",
    ],
)
def test_names_resolve_as_litellms_router(name: str) -> None:
    upstream = ROUTES.upstream(name)
    assert upstream is not None
    assert upstream.upstream_model == litellm_model(name)
    assert upstream.model_name == name  # the model group LiteLLM reports is the asked name


def test_more_parts_than_the_model_has_stars_go_to_litellm() -> None:
    # LiteLLM then sends the asked name itself, without a provider: not a deployment here.
    assert litellm_model("x-a-b") is None
    assert ROUTES.upstream("x-a-b") is None


@settings(max_examples=300, deadline=None, database=None)
@given(
    name=st.one_of(
        st.text(max_size=20),
        st.builds(
            lambda prefix, rest: prefix + rest,
            st.sampled_from(["claude-", "gpt-", "corp/", "x-", "team::", "corp-llm"]),
            st.text(alphabet="ab-:/v*.", max_size=10),
        ),
    )
)
def test_drawn_names_resolve_as_litellms_router(name: str) -> None:
    upstream = ROUTES.upstream(name)
    if "*" in name:
        assert upstream is None  # a literal star: LiteLLM decides
        return
    expected = litellm_model(name)
    assert (upstream.upstream_model if upstream else None) == expected


def test_the_most_specific_pattern_wins_whatever_the_config_order() -> None:
    routes = load_routes(config(*reversed(ENTRIES)), {})
    found = routes.upstream("claude-opus-5-5")
    assert found is not None and found.upstream_model == "corp-coder"


def test_an_exact_name_that_needs_litellm_is_not_caught_by_a_wildcard() -> None:
    routes = load_routes(config(model("star", rpm=3), model("*", "hosted_vllm/any")), {})
    assert routes.upstream("star") is None
    found = routes.upstream("other")
    assert found is not None and found.upstream_model == "any"


@pytest.mark.parametrize(
    "entry",
    [
        model("*", "hosted_vllm/a", mock_response="hi"),
        model("*", "anthropic/*"),
        model("*", "*"),
    ],
)
def test_wildcards_needing_litellm_send_every_name_to_it(entry: dict[str, Any]) -> None:
    routes = load_routes(config(entry), {})
    assert "*" in routes.skipped
    assert routes.upstream("claude-opus-5-5") is None
    assert not routes


def test_several_deployments_under_one_pattern_go_to_litellm() -> None:
    routes = load_routes(config(model("*", "hosted_vllm/a"), model("*", "hosted_vllm/b")), {})
    assert routes.upstream("claude-x") is None
    assert "several" in routes.skipped["*"]
