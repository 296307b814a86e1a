"""Group Policy settings (the ADMX template's registry values) as an organization policy document.

The ADMX template (``installer/windows/policy/LiteLLMBridge.admx``) writes one registry value
per policy key under ``HKLM\\SOFTWARE\\Policies\\LiteLLMBridge``: a subkey per section
(``Models``, ``Limits``, ``Quota``, ``Lock``, ``Update``, ``Audit``), ``ManagedConfig`` on the
key itself, and the two maps (``limits.per_model``, ``env``) as subkeys whose value names are
the map's keys (ADMX has no map type: a ``list`` element with ``explicitValue``). The agent
reads them here and merges them over the ``Policy`` JSON value of the same key, per key (the
settings win), so the registry is one policy source whatever tool wrote it.

Pure Python (no ``winreg``): the reader in ``_policy_win32`` hands the values over as
``{subkey: {name: (data, type)}}`` and this module is tested on every OS. A value that does not
convert is passed on as it is, so the schema refuses it and names it (fail closed); a value
name the template does not define becomes an unknown key for the same reason: a typo in a
hand-made ``reg add`` never silently unlocks anything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tray_agent.policy.merge import merge

# winreg's value types (the same numbers on every OS, so tests need no Windows).
REG_SZ = 1
REG_EXPAND_SZ = 2
REG_DWORD = 4
REG_MULTI_SZ = 7
REG_QWORD = 11

POLICY_VALUE = "Policy"
SIGNATURE_VALUE = "PolicySignature"

Kind = Literal["bool", "count", "text", "list", "map", "rate_map"]
Values = Mapping[str, Mapping[str, tuple[Any, int]]]


@dataclass(frozen=True)
class Setting:
    """One schema key and the registry value the template writes for it."""

    path: tuple[str, ...]  # the key in the policy document: ("limits", "rpm")
    subkey: str  # below HKLM\SOFTWARE\Policies\LiteLLMBridge ("" for the key itself)
    value: str | None  # the value name; None: every value of ``subkey`` (a map)
    kind: Kind


SETTINGS: tuple[Setting, ...] = (
    Setting(("models", "allow"), "Models", "Allow", "list"),
    Setting(("models", "deny"), "Models", "Deny", "list"),
    Setting(("limits", "rpm"), "Limits", "RPM", "count"),
    Setting(("limits", "tpm"), "Limits", "TPM", "count"),
    Setting(("limits", "max_parallel"), "Limits", "MaxParallel", "count"),
    Setting(("limits", "per_model"), "Limits\\PerModel", None, "rate_map"),
    Setting(("quota", "requests_per_day"), "Quota", "RequestsPerDay", "count"),
    Setting(("quota", "tokens_per_day"), "Quota", "TokensPerDay", "count"),
    Setting(("quota", "tokens_per_month"), "Quota", "TokensPerMonth", "count"),
    Setting(("quota", "timezone"), "Quota", "Timezone", "text"),
    Setting(("lock", "config"), "Lock", "Config", "bool"),
    # lock.env is ``true`` or a list of names: two values, ``EnvAll`` wins when it is 1.
    Setting(("lock", "env"), "Lock", "EnvAll", "bool"),
    Setting(("lock", "env"), "Lock", "Env", "list"),
    Setting(("lock", "clients"), "Lock", "Clients", "bool"),
    Setting(("lock", "iam"), "Lock", "Iam", "bool"),
    Setting(("lock", "fast_path"), "Lock", "FastPath", "bool"),
    Setting(("lock", "autostart"), "Lock", "Autostart", "bool"),
    Setting(("managed_config",), "", "ManagedConfig", "text"),
    Setting(("env",), "Env", None, "map"),
    Setting(("update", "url"), "Update", "Url", "text"),
    Setting(("update", "mode"), "Update", "Mode", "text"),
    Setting(("update", "version"), "Update", "Version", "text"),
    Setting(("audit", "required"), "Audit", "Required", "bool"),
    Setting(("audit", "retention_days"), "Audit", "RetentionDays", "count"),
    Setting(("audit", "max_size_mb"), "Audit", "MaxSizeMb", "count"),
    Setting(("audit", "hash_identifiers"), "Audit", "HashIdentifiers", "bool"),
)

# The subkeys the reader opens (every one the template writes to).
SUBKEYS: tuple[str, ...] = tuple(dict.fromkeys(s.subkey for s in SETTINGS))
# Values of the key itself that are not settings: the JSON document and its signature.
DOCUMENT_VALUES = frozenset({POLICY_VALUE, SIGNATURE_VALUE})


def _convert(kind: Kind, data: Any, rtype: int) -> Any:
    """The JSON value for one registry value; anything unexpected is passed on unchanged."""
    if kind == "bool":
        if rtype in (REG_DWORD, REG_QWORD) and data in (0, 1):
            return bool(data)
    elif kind == "count":
        if rtype in (REG_DWORD, REG_QWORD) and isinstance(data, int):
            return data
        # ``decimal storeAsText`` and a hand-made REG_SZ: digits only, "+5" or "1e3" stay text.
        if rtype in (REG_SZ, REG_EXPAND_SZ) and isinstance(data, str) and data.isdigit():
            return int(data)
    elif kind == "text":
        if rtype in (REG_SZ, REG_EXPAND_SZ) and isinstance(data, str):
            return data
    elif kind == "list":
        # multiText writes REG_MULTI_SZ; the editor leaves no empty lines, a hand edit may.
        if rtype == REG_MULTI_SZ and isinstance(data, list):
            return [str(item) for item in data if item != ""]
        if rtype in (REG_SZ, REG_EXPAND_SZ) and isinstance(data, str):
            return [data] if data else []
    return data


def _map(kind: Kind, values: Mapping[str, tuple[Any, int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (data, rtype) in values.items():
        text = data if rtype in (REG_SZ, REG_EXPAND_SZ) and isinstance(data, str) else None
        if kind == "map":
            out[name] = data if text is None else text
        else:  # rate_map: each model's limits as a JSON object ({"rpm": 60, "tpm": 100000})
            try:
                out[name] = json.loads(text) if text is not None else data
            except ValueError:
                out[name] = text  # the schema says "should be a valid dictionary" and where
    return out


def _put(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = doc
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value


def settings_document(values: Values) -> dict[str, Any] | None:
    """The policy document the settings say, or None when no setting is present."""
    doc: dict[str, Any] = {}
    known: set[tuple[str, str]] = set()
    lock_env: dict[str, Any] = {}
    for setting in SETTINGS:
        section = values.get(setting.subkey) or {}
        if setting.value is None:
            if section:
                _put(doc, setting.path, _map(setting.kind, section))
            continue
        known.add((setting.subkey, setting.value))
        if setting.value not in section:
            continue
        converted = _convert(setting.kind, *section[setting.value])
        if setting.path == ("lock", "env"):
            lock_env[setting.value] = converted
        else:
            _put(doc, setting.path, converted)
    if lock_env:
        everything = lock_env.get("EnvAll")
        names = lock_env.get("Env")
        if everything is True or names is None or not isinstance(everything, bool | None):
            # every entry; or only EnvAll=0; or a bad EnvAll passed on for the schema to refuse
            _put(doc, ("lock", "env"), everything)
        else:
            _put(doc, ("lock", "env"), names)
    map_keys = {s.subkey for s in SETTINGS if s.value is None}
    for subkey, section in values.items():
        if subkey in map_keys:
            continue
        for name, (data, _rtype) in section.items():
            if (subkey, name) in known or (subkey == "" and name in DOCUMENT_VALUES):
                continue
            # Unknown: keep it where the schema will call it an extra input, by its name.
            _put(doc, (*(subkey.lower().split("\\") if subkey else ()), name), data)
    return doc or None


def registry_policy(
    text: str | None, signature: str | None, values: Values
) -> tuple[str | None, str | None]:
    """The registry's policy source: ``Policy`` with the settings merged over it.

    Without settings it is ``Policy`` and its signature unchanged. With settings the text is
    the merged document and unsigned: a signature covers the ``Policy`` bytes only, so a
    package that requires signed policy refuses the settings (use the signed ``Policy``).
    A ``Policy`` that is not a JSON object is returned as it is, for the parser to refuse.
    """
    settings = settings_document(values)
    if settings is None:
        return text, signature
    base: Any = {}
    if text is not None:
        try:
            base = json.loads(text)
        except ValueError:
            return text, signature
        if not isinstance(base, dict):
            return text, signature
    merged, _origins = merge([(POLICY_VALUE, base), ("settings", settings)])
    return json.dumps(merged, sort_keys=True, ensure_ascii=False), None
