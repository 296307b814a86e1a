"""Doctor checks of what the bridge reads at start: config.yaml (with its env references) and
the keyring.
"""

from __future__ import annotations

from tray_agent.doctor.context import CheckResult, DoctorContext


def check_config(ctx: DoctorContext) -> CheckResult:
    title = "config valid, env references resolved"
    path = ctx.paths.config_file
    if not path.exists():
        return CheckResult(
            "config",
            title,
            "fail",
            f"no config file at {path}",
            "create one: litellm-bridge init --template demo",
        )
    secrets = ctx.secrets()
    if secrets is None:
        from tray_agent.secrets import MemoryStore

        secrets = MemoryStore()
    from tray_agent.config.issues import ConfigInvalid
    from tray_agent.config.prepare import prepare

    try:
        prepared = prepare(ctx.paths, secrets)
    except ConfigInvalid as exc:
        first = exc.issues[0] if exc.issues else None
        more = f" (and {len(exc.issues) - 1} more)" if len(exc.issues) > 1 else ""
        fix = (first.hint if first and first.hint else None) or (
            "run `litellm-bridge config validate` for every problem with its line"
        )
        return CheckResult(
            "config",
            title,
            "fail",
            f"{first}{more}" if first else str(exc),
            fix,
            {"issues": [i.as_dict() for i in exc.issues]},
        )
    r = ctx.rendered()
    refs = sorted(r.env_names) if r is not None else []
    detail = f"{path} is valid; {len(prepared.model_names)} model(s)"
    if refs:
        detail += f"; env references resolved: {', '.join(refs)}"
    return CheckResult("config", title, "pass", detail, data={"models": prepared.model_names})


def _has_secret_entries(ctx: DoctorContext) -> bool:
    from tray_agent.envstore import EnvStore, EnvStoreError

    try:
        return any(e.secret for e in EnvStore(ctx.paths.env_file).entries())
    except EnvStoreError:
        return True


def check_keyring(ctx: DoctorContext) -> CheckResult:
    title = "keyring backend usable"
    if ctx.status is not None:
        kr = ctx.status.get("keyring") or {}
        if kr.get("persistent"):
            return CheckResult("keyring", title, "pass", f"the agent uses {kr.get('backend')}")
    from tray_agent.testhooks import hooks_enabled

    # A frozen build ignores the hook (tray_agent/testhooks.py): then it forces nothing.
    forced = hooks_enabled() and (
        ctx.environ.get("LITELLM_BRIDGE_SECRET_STORE", "").lower() == "memory"
    )
    store = ctx.secrets()
    if store is not None and store.persistent:
        return CheckResult("keyring", title, "pass", f"{store.description} works")
    detail = "no secure OS keyring is usable: secrets are kept in memory for one run only"
    if forced:
        return CheckResult(
            "keyring",
            title,
            "warn",
            detail + " (LITELLM_BRIDGE_SECRET_STORE=memory)",
            "unset LITELLM_BRIDGE_SECRET_STORE to use the OS keyring",
        )
    rendered = ctx.rendered()
    needs_secrets = rendered is None or rendered.needs_token or _has_secret_entries(ctx)
    return CheckResult(
        "keyring",
        title,
        # Without secrets to keep (e.g. the demo profile) the bridge works fully: warn only.
        "fail" if needs_secrets else "warn",
        detail,
        "install and unlock a Secret Service keyring (e.g. gnome-keyring or KWallet in your "
        "desktop session); on Windows, Credential Manager must be available",
    )
