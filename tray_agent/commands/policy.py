"""``litellm-bridge policy show [--json]``: the organization policy in force and why.

With an agent running, what that agent enforces (``policy.show``) and its usage; otherwise
what the policy files say now and the usage file (``tray_agent.policy.usage``).
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from tray_agent.commands.context import CliContext

STATES = {
    "none": "no organization policy",
    "policy": "in force",
    "last_good": "the last good policy (the current one was refused or is invalid)",
    "locked_down": "organization policy invalid: everything is locked, no model is served",
}


def register(sub: Any) -> None:
    p = sub.add_parser("policy", help="the organization policy in force")
    psub = p.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    show = psub.add_parser("show", help="effective policy, where each key came from, usage")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=cmd_show)


def _from_agent(ctx: CliContext) -> dict[str, Any] | None:
    from tray_agent.control.protocol import ControlError

    client = ctx.agent()
    if client is None:
        return None
    with client:
        status = client.call("status", timeout=30)
        try:
            view = dict(client.call("policy.show", timeout=30))
        except ControlError:
            view = dict(status.get("policy") or {})
    view["usage"] = (status.get("policy") or {}).get("usage")
    view["from"] = "agent"
    return view


def _from_files(ctx: CliContext) -> dict[str, Any]:
    from tray_agent.policy.current import evaluate_for
    from tray_agent.policy.view import build_view

    try:
        secrets = ctx.secrets
    except Exception:
        secrets = None
    view = build_view(evaluate_for(ctx.paths, secrets))
    try:
        usage_mod = importlib.import_module("tray_agent.policy.usage")
        view["usage"] = usage_mod.read_summary(ctx.paths)
    except (ImportError, AttributeError):
        view["usage"] = None
    view["from"] = "files"
    return view


def cmd_show(args: argparse.Namespace, ctx: CliContext) -> int:
    view = _from_agent(ctx) or _from_files(ctx)
    if args.json:
        ctx.print_json(view)
    else:
        ctx.print(format_view(view))
    return 0


def _flatten(doc: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(doc, dict) and doc:
        out: list[tuple[str, Any]] = []
        for k, v in doc.items():
            out.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return [(prefix, doc)]


def _origin(key: str, origins: dict[str, str]) -> str | None:
    parts = key.split(".")
    for i in range(len(parts), 0, -1):
        hit = origins.get(".".join(parts[:i]))
        if hit:
            return hit
    return None


def _usage_lines(usage: dict[str, Any] | None, quota: dict[str, Any]) -> list[str]:
    if not usage:
        return ["usage: no usage recorded"]
    lines = [f"usage ({usage.get('employee_id') or 'no employee'}):"]
    for used, limit in (
        ("requests_today", "requests_per_day"),
        ("tokens_today", "tokens_per_day"),
        ("tokens_month", "tokens_per_month"),
    ):
        cap = quota.get(limit)
        lines.append(f"  {used}: {usage.get(used, 0)}" + (f" of {cap}" if cap is not None else ""))
    return lines


def format_view(view: dict[str, Any]) -> str:
    state = str(view.get("state") or "none")
    lines = [f"organization policy: {STATES.get(state, state)}"]
    sources = view.get("source") or []
    lines.append(
        "sources: " + (", ".join(sources) if sources else f"none in {view.get('directory')}")
    )
    if view.get("env_ignored"):
        lines.append("LITELLM_BRIDGE_POLICY_DIR is ignored: a machine policy exists")
    if view.get("signed"):
        lines.append("signatures: required (this package carries a policy key)")
    if view.get("refused"):
        lines.append(f"refused: {view['refused']}")
    if view.get("error"):
        lines.append(f"error: {view['error']}")
    locked = view.get("locked") or {}
    shown = [k if v is True else f"{k} ({', '.join(v)})" for k, v in locked.items() if v]
    lines.append("locked: " + (", ".join(shown) if shown else "nothing"))
    if view.get("managed_config"):
        lines.append(f"managed config: {view['managed_config']}")
    origins = view.get("origins") or {}
    effective = view.get("effective") or {}
    if state != "none" and effective:
        lines.append("effective policy:")
        for key, value in _flatten(effective):
            origin = _origin(key, origins)
            fallback = "locked down" if state == "locked_down" else "default"
            where = f"  ({origin})" if origin else f"  ({fallback})"
            lines.append(f"  {key} = {value!r}{where}")
    lines.extend(_usage_lines(view.get("usage"), effective.get("quota") or {}))
    return "\n".join(lines)
