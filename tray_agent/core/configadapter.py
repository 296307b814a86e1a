"""Adapter from the config and env packages to the core's ``Prepared`` bundle."""

from __future__ import annotations

from typing import Any

import yaml

from tray_agent.core.configsource import ConfigInvalid, Issue, Prepared
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore

TOKEN_REF = "os.environ/LITELLM_BRIDGE_TOKEN"


def prepare_from_files(paths: Paths, secrets: SecretStore) -> Prepared:
    cfg_file = paths.config_file
    if not cfg_file.exists():
        raise ConfigInvalid(
            [
                Issue(
                    str(cfg_file),
                    None,
                    None,
                    "no config.yaml yet",
                    "create one: litellm-bridge init --template demo",
                )
            ]
        )
    try:
        data = yaml.safe_load(cfg_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigInvalid(
            [
                Issue(
                    str(cfg_file),
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                    str(getattr(exc, "problem", exc)),
                )
            ]
        ) from exc
    bridge: dict[str, Any] = data.pop("bridge", None) or {}
    inject: dict[str, Any] = {}
    names: list[str] = []
    for m in data.get("model_list") or []:
        names.append(str(m.get("model_name")))
        params = m.get("litellm_params") or {}
        extra = params.pop("extra_body", None)
        if isinstance(extra, dict):
            spec: dict[str, Any] = {"token": [], "env": {}, "literal": {}}
            for k, v in extra.items():
                if v == TOKEN_REF:
                    spec["token"].append(k)
                elif isinstance(v, str) and v.startswith("os.environ/"):
                    spec["env"][k] = v.removeprefix("os.environ/")
                else:
                    spec["literal"][k] = v
            inject[str(m.get("model_name"))] = spec
    gs = data.setdefault("general_settings", {}) or {}
    gs["master_key"] = "os.environ/LITELLM_MASTER_KEY"
    data["general_settings"] = gs
    ls = data.setdefault("litellm_settings", {}) or {}
    cbs = list(ls.get("callbacks") or [])
    if "sidecar.bridge_hook.bridge_hook" not in cbs:
        cbs.append("sidecar.bridge_hook.bridge_hook")
    ls["callbacks"] = cbs
    data["litellm_settings"] = ls
    rs = data.setdefault("router_settings", {}) or {}
    rs.setdefault("disable_cooldowns", True)
    data["router_settings"] = rs
    return Prepared(
        effective_yaml=yaml.safe_dump(data, sort_keys=False),
        inject=inject,
        port=int(bridge.get("port", 4000)),
        env={},
        model_names=names,
        iam=bridge.get("iam"),
        notify_before=float(bridge.get("notify_before", 300)),
    )
