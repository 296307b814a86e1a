"""The ADMX/ADML Group Policy templates against the policy schema, and the registry conversion."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from tray_agent.platform.policy_settings import (
    REG_DWORD,
    REG_MULTI_SZ,
    REG_QWORD,
    REG_SZ,
    SETTINGS,
    registry_policy,
    settings_document,
)
from tray_agent.policy.schema import Policy

ROOT = Path(__file__).resolve().parents[2]
POLICY_DIR = ROOT / "installer" / "windows" / "policy"
ADMX = POLICY_DIR / "LiteLLMBridge.admx"
ADML = POLICY_DIR / "en-US" / "LiteLLMBridge.adml"
NS = {"p": "http://schemas.microsoft.com/GroupPolicy/2006/07/PolicyDefinitions"}
BASE_KEY = "SOFTWARE\\Policies\\LiteLLMBridge"
# Values of the key that carry the whole JSON document rather than one schema key.
DOCUMENT = {("", "Policy"), ("", "PolicySignature")}


def parse(path: Path) -> ET.Element:
    # The repository's own templates, not input from outside.
    return ET.parse(path).getroot()  # noqa: S314


def schema_keys(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every leaf key of the schema; maps (``per_model``, ``env``) are leaves."""
    out: set[tuple[str, ...]] = set()
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out |= schema_keys(kind, (*prefix, name))
        else:
            out.add((*prefix, name))
    return out


def admx_values() -> set[tuple[str, str | None]]:
    """(subkey, value name) of every registry value the ADMX writes; None: a whole list key."""
    found: set[tuple[str, str | None]] = set()
    for policy in parse(ADMX).iterfind(".//p:policies/p:policy", NS):
        key = policy.get("key", "")
        assert key == BASE_KEY or key.startswith(BASE_KEY + "\\"), key
        assert policy.get("class") == "Machine", policy.get("name")
        sub = key[len(BASE_KEY) + 1 :]
        if policy.get("valueName"):
            found.add((sub, policy.get("valueName")))
        for element in policy.iterfind("p:elements/*", NS):
            if element.tag.endswith("}list"):
                found.add((element.get("key", key)[len(BASE_KEY) + 1 :], None))
            else:
                found.add((sub, element.get("valueName")))
    return found


def test_templates_and_schema_list_the_same_keys() -> None:
    keys = schema_keys(Policy)
    assert len(keys) == 25  # a new schema key fails here until the template has it
    mapped = {s.path for s in SETTINGS}
    assert mapped == keys, (
        f"not in the template: {sorted(keys - mapped)}; not in the schema: {mapped - keys}"
    )
    written = admx_values() - DOCUMENT
    table = {(s.subkey, s.value) for s in SETTINGS}
    assert written == table, (
        f"ADMX only: {sorted(written - table, key=str)}; "
        f"mapping only: {sorted(table - written, key=str)}"
    )


def test_adml_has_every_string_and_presentation_the_admx_references() -> None:
    admx_text = ADMX.read_text(encoding="utf-8")
    adml = parse(ADML)
    strings = {s.get("id") for s in adml.iterfind(".//p:stringTable/p:string", NS)}
    presentations = {
        p.get("id"): p for p in adml.iterfind(".//p:presentationTable/p:presentation", NS)
    }
    wanted_strings = set(re.findall(r"\$\(string\.([^)]+)\)", admx_text))
    wanted_presentations = set(re.findall(r"\$\(presentation\.([^)]+)\)", admx_text))
    assert wanted_strings and wanted_strings <= strings, wanted_strings - strings
    assert wanted_presentations <= set(presentations), wanted_presentations - set(presentations)
    # Every element of a policy has its control in that policy's presentation, by id.
    for policy in parse(ADMX).iterfind(".//p:policies/p:policy", NS):
        ids = {e.get("id") for e in policy.iterfind("p:elements/*", NS)}
        if not ids:
            continue
        ref = re.fullmatch(r"\$\(presentation\.([^)]+)\)", policy.get("presentation", ""))
        assert ref, policy.get("name")
        controls = {c.get("refId") for c in presentations[ref.group(1)]}
        assert ids == controls, (policy.get("name"), ids, controls)
    # Category and supportedOn references resolve inside the template.
    root = parse(ADMX)
    categories = {c.get("name") for c in root.iterfind(".//p:categories/p:category", NS)}
    for ref in root.iterfind(".//p:parentCategory", NS):
        assert ref.get("ref") in categories


def every_setting() -> dict[str, dict[str, tuple[Any, int]]]:
    """What a GPO with every setting enabled writes (as winreg reads it back)."""
    return {
        "": {"ManagedConfig": ("managed.yaml", REG_SZ)},
        "Models": {"Allow": (["gpt-4o*", "claude-*"], REG_MULTI_SZ), "Deny": ([], REG_MULTI_SZ)},
        "Limits": {
            "RPM": (120, REG_QWORD),
            "TPM": (2_000_000_000_000 // 2, REG_QWORD),
            "MaxParallel": (8, REG_DWORD),
        },
        "Limits\\PerModel": {"gpt-4o": ('{"rpm": 60, "tpm": 100000}', REG_SZ)},
        "Quota": {
            "RequestsPerDay": (500, REG_QWORD),
            "TokensPerDay": ("100000", REG_SZ),  # decimal storeAsText, or a hand-made REG_SZ
            "TokensPerMonth": (5_000_000_000, REG_QWORD),
            "Timezone": ("Europe/Berlin", REG_SZ),
        },
        "Lock": {
            "Config": (1, REG_DWORD),
            "Env": (["HTTPS_PROXY"], REG_MULTI_SZ),
            "Clients": (1, REG_DWORD),
            "Iam": (0, REG_DWORD),
            "FastPath": (1, REG_DWORD),
            "Autostart": (0, REG_DWORD),
        },
        "Env": {"NO_PROXY": ("localhost,.corp.example", REG_SZ)},
        "Update": {
            "Url": ("https://updates.corp.example/litellm-bridge/", REG_SZ),
            "Mode": ("manual", REG_SZ),
            "Version": ("1.4.2", REG_SZ),
        },
        "Audit": {
            "Required": (1, REG_DWORD),
            "RetentionDays": (30, REG_DWORD),
            "MaxSizeMb": (256, REG_DWORD),
            "HashIdentifiers": (1, REG_DWORD),
        },
    }


def test_every_setting_becomes_its_policy_key() -> None:
    text, signature = registry_policy(None, None, every_setting())
    assert text is not None and signature is None
    policy = Policy.model_validate(json.loads(text))
    assert policy.models.allow == ["gpt-4o*", "claude-*"] and policy.models.deny == []
    assert (policy.limits.rpm, policy.limits.tpm, policy.limits.max_parallel) == (
        120,
        10**12,
        8,
    )
    assert policy.limits.per_model["gpt-4o"].tpm == 100000
    assert policy.quota.tokens_per_day == 100000 and policy.quota.tokens_per_month == 5 * 10**9
    assert policy.quota.timezone == "Europe/Berlin"
    assert policy.lock.config and policy.lock.clients and policy.lock.fast_path
    assert not policy.lock.iam and not policy.lock.autostart
    assert policy.lock.env == ["HTTPS_PROXY"]
    assert policy.managed_config == "managed.yaml"
    assert policy.env == {"NO_PROXY": "localhost,.corp.example"}
    assert (policy.update.mode, policy.update.version) == ("manual", "1.4.2")
    assert policy.audit.required and policy.audit.retention_days == 30
    assert policy.audit.max_size_mb == 256 and policy.audit.hash_identifiers


def test_settings_merge_over_the_policy_document_and_drop_its_signature() -> None:
    document = json.dumps({"limits": {"rpm": 10, "tpm": 99}, "models": {"deny": ["x"]}})
    # No settings: the document and its signature are passed on untouched (byte for byte).
    assert registry_policy(document, "c2ln", {"": {"Policy": (document, REG_SZ)}}) == (
        document,
        "c2ln",
    )
    text, signature = registry_policy(document, "c2ln", {"Limits": {"RPM": (30, REG_DWORD)}})
    assert signature is None  # the signature covered the document, not the settings
    merged = json.loads(text or "")
    assert merged["limits"] == {"rpm": 30, "tpm": 99} and merged["models"]["deny"] == ["x"]
    # A document that is not a JSON object stays as it is: the parser refuses it.
    assert registry_policy("{broken", None, {"Lock": {"Iam": (1, REG_DWORD)}}) == ("{broken", None)


def test_lock_env_all_wins_over_names_and_disabled_is_false() -> None:
    both = {"Lock": {"EnvAll": (1, REG_DWORD), "Env": (["A"], REG_MULTI_SZ)}}
    assert settings_document(both) == {"lock": {"env": True}}
    assert settings_document({"Lock": {"EnvAll": (0, REG_DWORD)}}) == {"lock": {"env": False}}
    names = {"Lock": {"EnvAll": (0, REG_DWORD), "Env": (["A", ""], REG_MULTI_SZ)}}
    assert settings_document(names) == {"lock": {"env": ["A"]}}
    assert settings_document({}) is None and settings_document({"Models": {}}) is None


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"Lock": {"Config": (2, REG_DWORD)}}, "lock.config"),  # not 0/1
        ({"Limits": {"RPM": ("fast", REG_SZ)}}, "limits.rpm"),
        ({"Limits\\PerModel": {"gpt-4o": ("rpm=60", REG_SZ)}}, "limits.per_model.gpt-4o"),
        ({"Lock": {"Confg": (1, REG_DWORD)}}, "lock.Confg"),  # a typo in a hand-made value
        ({"": {"Colour": ("red", REG_SZ)}}, "Colour"),
        ({"Update": {"Mode": ("sometimes", REG_SZ)}}, "update.mode"),
    ],
)
def test_a_value_that_does_not_convert_is_refused_by_the_schema_by_its_name(
    values: dict[str, dict[str, tuple[Any, int]]], where: str
) -> None:
    text, _ = registry_policy(None, None, values)
    with pytest.raises(ValidationError) as caught:
        Policy.model_validate(json.loads(text or ""))
    locations = [".".join(str(p) for p in e["loc"]) for e in caught.value.errors()]
    assert any(loc.startswith(where) for loc in locations), locations
