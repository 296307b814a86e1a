"""Each failure point of the bridge, checked on its own: pass, warn or fail, with a fix."""

from __future__ import annotations

import errno
import json
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

from tray_agent.doctor.context import CheckResult, DoctorContext
from tray_agent.doctor.probe import probe_url, proxy_for
from tray_agent.envref import resolve_ref
from tray_agent.logs.secrets import PROXY_VARS

SIGN_IN = "sign in: litellm-bridge token login"
LOOPBACK = "127.0.0.1"
CLOCK_WARN = 10.0
CLOCK_FAIL = 120.0
DISK_FAIL = 50 * 1024 * 1024
DISK_WARN = 200 * 1024 * 1024
TOKEN_MISSING_TEXT = "internal token missing or expired"

Check = Callable[[DoctorContext], CheckResult]


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


# -- local ---------------------------------------------------------------------------------


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


def listeners(port: int) -> set[int] | None:
    """Pids listening on ``port`` (None when the OS does not tell)."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return None
    return {
        c.pid
        for c in conns
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid
    }


def _bind_free(port: int) -> OSError | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
        sock.listen(1)
        return None
    except OSError as exc:
        return exc
    finally:
        sock.close()


def check_port(ctx: DoctorContext) -> CheckResult:
    port = ctx.port()
    title = f"port {port} free or owned by our sidecar"
    ours: set[int] = set()
    if ctx.status is not None:
        sc = ctx.status["sidecar"]
        ours = {int(ctx.status["agent"]["pid"])}
        for pid in (sc.get("pid"), (sc.get("pending") or {}).get("pid")):
            if pid:
                ours.add(int(pid))
        if sc.get("state") == "running":
            holders = listeners(port)
            if holders is None or holders <= ours:
                return CheckResult(
                    "port", title, "pass", f"{LOOPBACK}:{port} is served by our sidecar"
                )
    err = _bind_free(port)
    if err is None:
        return CheckResult("port", title, "pass", f"{LOOPBACK}:{port} is free")
    if err.errno not in (errno.EADDRINUSE, errno.EACCES, getattr(errno, "WSAEADDRINUSE", -1)):
        return CheckResult(
            "port",
            title,
            "fail",
            f"cannot listen on {LOOPBACK}:{port}: {err.strerror or err}",
            "choose another port: bridge.port in config.yaml",
        )
    holders = listeners(port) or set()
    if holders and holders <= ours:
        return CheckResult("port", title, "pass", f"{LOOPBACK}:{port} is held by our agent")
    from tray_agent.supervisor.ports import describe_listener

    who = describe_listener(port, ours) or "another program"
    return CheckResult(
        "port",
        title,
        "fail",
        # Not only a start problem: clients keep sending the proxy key to this port.
        f"{LOOPBACK}:{port} is already in use by {who}; clients that send the proxy key "
        "there hand it to that program",
        "stop that program, or choose another port: set bridge.port in config.yaml "
        "(or `litellm-bridge init --port N`)",
        {"holders": sorted(holders)},
    )


def _covers_loopback(no_proxy: str) -> bool:
    items = {p.strip().lower() for p in no_proxy.split(",") if p.strip()}
    return bool(items & {"*", "127.0.0.1", "127.0.0.0/8", "127.0.0.1/32", "127.*"})


def check_proxy_env(ctx: DoctorContext) -> CheckResult:
    title = "no proxy variable captures loopback traffic"
    set_vars = [v for v in PROXY_VARS if ctx.environ.get(v)]
    if not set_vars:
        return CheckResult("proxy_env", title, "pass", "no HTTP(S)_PROXY / ALL_PROXY is set")
    no_proxy = ",".join(ctx.environ.get(k, "") for k in ("NO_PROXY", "no_proxy"))
    if _covers_loopback(no_proxy):
        return CheckResult(
            "proxy_env",
            title,
            "pass",
            f"{', '.join(set_vars)} set; NO_PROXY covers {LOOPBACK}",
        )
    return CheckResult(
        "proxy_env",
        title,
        "fail",
        f"{', '.join(set_vars)} set in this shell and NO_PROXY does not cover {LOOPBACK}: "
        "coding tools would send their requests for the local proxy to the corporate proxy",
        "add loopback to NO_PROXY where your tools run, e.g. "
        "`export NO_PROXY=127.0.0.1,localhost,$NO_PROXY` (and no_proxy) in your shell profile; "
        "on Windows: setx NO_PROXY 127.0.0.1,localhost",
        {"variables": set_vars},
    )


def check_disk(ctx: DoctorContext) -> CheckResult:
    title = "disk space for logs"
    where: Path = ctx.paths.log_dir
    while not where.exists() and where.parent != where:
        where = where.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError as exc:
        return CheckResult("disk", title, "warn", f"cannot measure free space at {where}: {exc}")
    mb = free / (1024 * 1024)
    detail = f"{mb:,.0f} MB free at {where}"
    if free < DISK_FAIL:
        return CheckResult(
            "disk", title, "fail", detail, "free some disk space (logs need up to ~40 MB)"
        )
    if free < DISK_WARN:
        return CheckResult("disk", title, "warn", detail, "free some disk space soon")
    return CheckResult("disk", title, "pass", detail)


def _token_status(ctx: DoctorContext) -> dict[str, Any]:
    if ctx.status is not None:
        return dict(ctx.status.get("token") or {})
    from tray_agent.token.store import read_state, status_from_state

    r = ctx.rendered()
    notify = float(r.notify_before) if r is not None else 300.0
    return status_from_state(read_state(ctx.paths.state_file), ctx.clock(), notify).to_dict()


def check_token(ctx: DoctorContext) -> CheckResult:
    title = "token present and unexpired"
    r = ctx.rendered()
    if r is not None and not r.needs_token and r.iam is None:
        return CheckResult("token", title, "skip", "no model needs an internal token")
    tok = _token_status(ctx)
    state, exp = tok.get("state"), tok.get("expires_at")
    data = {"state": state, "expires_at": exp}
    last = tok.get("last_error")
    if state in ("absent", None):
        return CheckResult("token", title, "fail", "no internal token", SIGN_IN, data)
    if state == "expired" or (exp is not None and exp <= ctx.clock()):
        when = f" at {_when(exp)}" if exp else ""
        return CheckResult("token", title, "fail", f"the token expired{when}", SIGN_IN, data)
    if state == "error":
        return CheckResult("token", title, "fail", f"token error: {last}", SIGN_IN, data)
    detail = f"token {state}, expires {_when(exp)}" if exp else f"token {state}"
    if state == "expiring":
        fix = SIGN_IN if not tok.get("can_refresh_silently") else None
        return CheckResult("token", title, "warn", detail + (f"; {last}" if last else ""), fix)
    return CheckResult("token", title, "pass", detail, data=data)


# -- network -------------------------------------------------------------------------------


def _iam_probe(ctx: DoctorContext) -> Any:
    if "iam" not in ctx.cache:
        r = ctx.rendered()
        iam = r.iam if r is not None else None
        if iam is None:
            ctx.cache["iam"] = None
        else:
            url = str(getattr(iam, "url", None) or getattr(iam, "token_url", ""))
            bundle = iam.ca_bundle
            if bundle and not Path(bundle).expanduser().is_absolute():
                bundle = str(ctx.paths.config_file.parent / Path(bundle).expanduser())
            ctx.cache["iam"] = (
                url,
                bundle,
                probe_url(
                    url, ca_bundle=bundle, timeout=ctx.timeout, environ=ctx.environ, what="the IAM"
                ),
            )
    return ctx.cache["iam"]


def check_iam(ctx: DoctorContext) -> CheckResult:
    title = "IAM reachable (DNS, TCP, TLS, HTTP)"
    if ctx.rendered() is None:
        return CheckResult("iam", title, "skip", "config not readable (see the config check)")
    found = _iam_probe(ctx)
    if found is None:
        return CheckResult("iam", title, "skip", "no bridge.iam in config.yaml")
    url, _bundle, p = found
    data = {"url": url, "step": p.step, "untrusted_ca": p.untrusted_ca, "status": p.status}
    if not p.ok:
        return CheckResult("iam", title, "fail", p.message, p.fix, data)
    return CheckResult("iam", title, "pass", p.message, data=data)


def check_clock(ctx: DoctorContext) -> CheckResult:
    title = "clock agrees with the IAM's Date header"
    found = _iam_probe(ctx) if ctx.rendered() is not None else None
    if found is None:
        return CheckResult("clock", title, "skip", "no IAM to compare with")
    p = found[2]
    if p.server_date is None or p.local_mid is None:
        return CheckResult("clock", title, "skip", "the IAM sent no Date header")
    skew = p.local_mid - p.server_date
    data = {"skew_seconds": round(skew, 1)}
    direction = "ahead of" if skew > 0 else "behind"
    detail = f"this computer's clock is {abs(skew):.0f} s {direction} the IAM's"
    fix = (
        "turn on automatic time synchronisation (Linux: timedatectl set-ntp true; Windows: "
        "Settings > Time > Set time automatically); token expiry depends on it"
    )
    if abs(skew) >= CLOCK_FAIL:
        return CheckResult("clock", title, "fail", detail, fix, data)
    if abs(skew) >= CLOCK_WARN:
        return CheckResult("clock", title, "warn", detail, fix, data)
    return CheckResult("clock", title, "pass", detail, data=data)


def check_sidecar(ctx: DoctorContext) -> CheckResult:
    title = "sidecar ready (GET /health/liveliness)"
    if ctx.status is None:
        return CheckResult(
            "sidecar", title, "warn", "no agent is running", "start it: litellm-bridge start"
        )
    sc = ctx.status["sidecar"]
    if sc.get("state") != "running":
        detail = f"the sidecar is {sc.get('state')}" + (
            f": {sc['error']}" if sc.get("error") else ""
        )
        return CheckResult(
            "sidecar",
            title,
            "fail",
            detail,
            "litellm-bridge start; if it keeps failing: litellm-bridge logs --component sidecar",
        )
    url = f"{sc['url']}/health/liveliness"
    try:
        with httpx.Client(timeout=ctx.timeout, trust_env=False) as client:
            resp = client.get(url)
    except httpx.HTTPError as exc:
        return CheckResult(
            "sidecar",
            title,
            "fail",
            f"{url}: {type(exc).__name__}: {exc}",
            "litellm-bridge restart",
        )
    if resp.status_code != 200:
        return CheckResult(
            "sidecar", title, "fail", f"{url} answered HTTP {resp.status_code}", "restart it"
        )
    return CheckResult("sidecar", title, "pass", f"{url} answered 200 (pid {sc.get('pid')})")


def _probe_model(ctx: DoctorContext) -> tuple[str, dict[str, Any]] | None:
    """A model that goes upstream: one needing the token first, else any with an api_base."""
    r = ctx.rendered()
    raw = ctx.raw_config() or {}
    entries = [e for e in raw.get("model_list") or [] if isinstance(e, dict)]
    needing = [n for n, spec in (r.inject if r else {}).items() if spec.get("token")]
    for name in needing:
        for e in entries:
            if e.get("model_name") == name:
                return name, e
    for e in entries:
        params = e.get("litellm_params") or {}
        if params.get("api_base") and params.get("mock_response") is None:
            return str(e.get("model_name")), e
    return None


def _short(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _short(resp.text)
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return _short(str(err.get("message") or err))
        if err:
            return _short(str(err))
        if data.get("detail"):
            return _short(str(data["detail"]))
    return _short(resp.text)


def _judge(ctx: DoctorContext, resp: httpx.Response, how: str, model: str) -> CheckResult:
    title = "internal LLM API reachable and accepting the token"
    status = resp.status_code
    data = {"path": how, "model": model, "status": status}
    if status == 200:
        return CheckResult("upstream", title, "pass", f"{how}: model {model} answered", data=data)
    message = _error_message(resp)
    detail = f"{how}: model {model}: HTTP {status}: {message}"
    if status == 401 and TOKEN_MISSING_TEXT in message:
        return CheckResult("upstream", title, "fail", detail, SIGN_IN, data)
    if status in (401, 403):
        return CheckResult(
            "upstream",
            title,
            "fail",
            detail,
            "the internal API rejected the credentials: sign in again (litellm-bridge token "
            "login); if that does not help, check the token field names in extra_body and the "
            "api_key env entry with the API's operators",
            data,
        )
    if status >= 500:
        return CheckResult(
            "upstream",
            title,
            "fail",
            detail,
            "the internal API (or the proxy's call to it) failed: check api_base and the "
            "network; see litellm-bridge logs --component sidecar",
            data,
        )
    return CheckResult(
        "upstream",
        title,
        "fail",
        detail,
        "check the model entry in config.yaml (model, api_base)",
        data,
    )


def _resolve(value: Any, env: dict[str, str]) -> Any:
    return resolve_ref(value, env)


def check_upstream(ctx: DoctorContext) -> CheckResult:
    title = "internal LLM API reachable and accepting the token"
    if ctx.rendered() is None:
        return CheckResult("upstream", title, "skip", "config not readable")
    found = _probe_model(ctx)
    if found is None:
        return CheckResult("upstream", title, "skip", "no model calls an internal API")
    name, entry = found
    body = {"model": name, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
    sc = (ctx.status or {}).get("sidecar") or {}
    if sc.get("state") == "running" and ctx.proxy_key:
        how = f"through the proxy at {sc['url']}"
        try:
            with httpx.Client(timeout=ctx.request_timeout, trust_env=False) as client:
                resp = client.post(
                    f"{sc['url']}/v1/chat/completions",
                    json=body,
                    headers={"Authorization": f"Bearer {ctx.proxy_key}"},
                )
        except httpx.HTTPError as exc:
            return CheckResult(
                "upstream", title, "fail", f"{how}: {type(exc).__name__}: {exc}", "restart it"
            )
        return _judge(ctx, resp, how, name)
    return _direct(ctx, name, entry, body)


def _direct(
    ctx: DoctorContext, name: str, entry: dict[str, Any], body: dict[str, Any]
) -> CheckResult:
    title = "internal LLM API reachable and accepting the token"
    params = entry.get("litellm_params") or {}
    api_base = params.get("api_base")
    if not api_base:
        return CheckResult("upstream", title, "skip", f"model {name} has no api_base to try")
    secrets = ctx.secrets()
    env: dict[str, str] = {}
    if secrets is not None:
        from tray_agent.envstore import EnvStore, EnvStoreError

        try:
            env = EnvStore(ctx.paths.env_file, secrets).resolved()
        except EnvStoreError:
            env = {}
    r = ctx.rendered()
    spec = (r.inject if r is not None else {}).get(name) or {}
    payload: dict[str, Any] = dict(body)
    payload["model"] = str(params.get("model", name)).split("/", 1)[-1]
    if spec.get("token"):
        token = secrets.get("token") if secrets is not None else None
        if not token:
            return CheckResult(
                "upstream",
                title,
                "fail",
                f"model {name} needs the internal token and none is stored",
                SIGN_IN,
            )
        for field_name in spec["token"]:
            payload[field_name] = token
    for field_name, env_name in (spec.get("env") or {}).items():
        if env_name in env:
            payload[field_name] = env[env_name]
    payload.update(spec.get("literal") or {})
    headers = {}
    key = _resolve(params.get("api_key"), env)
    if isinstance(key, str) and key:
        headers["Authorization"] = f"Bearer {key}"
    url = str(api_base).rstrip("/") + "/chat/completions"
    how = f"directly at {url} (no agent is running)"
    proxy = proxy_for(url, ctx.environ)
    try:
        with httpx.Client(timeout=ctx.request_timeout, trust_env=proxy is not None) as client:
            resp = client.post(url, json=payload, headers=headers)
    except httpx.HTTPError as exc:
        return CheckResult(
            "upstream",
            title,
            "fail",
            f"{how}: {type(exc).__name__}: {exc}",
            "check api_base in config.yaml and the network or VPN",
        )
    return _judge(ctx, resp, how, name)


CHECKS: list[Check] = [
    check_config,
    check_keyring,
    check_port,
    check_sidecar,
    check_iam,
    check_clock,
    check_token,
    check_upstream,
    check_proxy_env,
    check_disk,
]
