"""The sidecar's model globs mean what the agent's policy schema means, name for name, and
names resolve to the configured ``model_name`` the router would pick."""

from __future__ import annotations

import pytest

from sidecar.policy.models import ModelNames, ModelRules
from tray_agent.policy.schema import Models

RULES: list[tuple[list[str] | None, list[str]]] = [
    (None, []),
    (None, ["corp-experimental"]),
    (["corp-*"], []),
    (["corp-*"], ["corp-experimental"]),
    (["corp-?", "gpt-[45]*"], ["*-preview"]),
    ([], []),
    (["*"], ["*"]),
    (["Corp-*"], []),
    (["team/*"], ["team/secret*"]),
    (["[!x]*"], []),
]
NAMES = [
    "corp-llm",
    "corp-experimental",
    "corp-a",
    "Corp-llm",
    "gpt-4o",
    "gpt-4o-preview",
    "gpt-3.5",
    "team/coder",
    "team/secret-model",
    "xmodel",
    "",
    "corp-*",
    "a[b]c",
    "emoji-\u00e9",
]


@pytest.mark.parametrize(("allow", "deny"), RULES)
def test_sidecar_and_agent_agree_on_every_name(allow: list[str] | None, deny: list[str]) -> None:
    agent = Models(allow=allow, deny=deny)
    sidecar = ModelRules(allow, deny)
    for name in NAMES:
        assert sidecar.allows(name) == agent.allows(name), (allow, deny, name)
        assert sidecar.allows(name) == agent.allows(name), "cached answer differs"


def test_restricts_only_with_an_allow_or_deny_list() -> None:
    assert not ModelRules(None, []).restricts
    assert ModelRules([], []).restricts
    assert ModelRules(None, ["x"]).restricts


def test_names_resolve_to_the_configured_model_name() -> None:
    config = {
        "model_list": [
            {"model_name": "corp-llm", "litellm_params": {}},
            {"model_name": "team/*", "litellm_params": {}},
        ],
        "router_settings": {
            "model_group_alias": {"gpt-4": "corp-llm", "fast": {"model": "corp-llm"}}
        },
    }
    names = ModelNames.from_config(config)
    assert names.resolve("corp-llm") == "corp-llm"
    assert names.resolve("gpt-4") == "corp-llm"
    assert names.resolve("fast") == "corp-llm"
    assert names.resolve("team/coder") == "team/*"
    assert names.resolve("unknown") is None
    assert ModelNames.from_config(None).resolve("corp-llm") is None
