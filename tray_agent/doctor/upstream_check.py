"""Doctor check of the internal LLM API: one tiny request, through the proxy when an agent runs,
else straight to the upstream with what the sidecar would inject.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from sidecar.inject import (
    inject_extra_body,
    lookup,
    parse_spec,
    refuses,
    strip_transport_overrides,
)
from tray_agent.doctor.context import CheckResult, DoctorContext
from tray_agent.doctor.probe import proxy_for
from tray_agent.doctor.token_check import SIGN_IN
from tray_agent.envref import resolve_ref
from tray_agent.token.iam import sidecar_environ

TOKEN_MISSING_TEXT = "internal token missing or expired"


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
    env = _sidecar_env(ctx)
    r = ctx.rendered()
    request: dict[str, Any] = dict(body)
    request["model"] = str(params.get("model", name)).split("/", 1)[-1]

    def stored_token() -> str | None:
        return secrets.get("token") if secrets is not None else None

    inject = r.inject if r is not None else {}
    payload = upstream_body(request, inject, name, stored_token, env)
    if payload is None:
        return CheckResult(
            "upstream",
            title,
            "fail",
            f"model {name} needs the internal token and none is stored",
            SIGN_IN,
        )
    headers = {}
    key = resolve_ref(params.get("api_key"), env)
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


def _sidecar_env(ctx: DoctorContext) -> dict[str, str]:
    """The environment the sidecar would get: this environment, then the enabled env entries."""
    entries: dict[str, str] = {}
    secrets = ctx.secrets()
    if secrets is not None:
        from tray_agent.envstore import EnvStore, EnvStoreError

        try:
            entries = EnvStore(ctx.paths.env_file, secrets).resolved()
        except EnvStoreError:
            entries = {}
    return sidecar_environ(entries, ctx.environ)


def upstream_body(
    body: dict[str, Any],
    inject: Mapping[str, Any],
    model: str,
    token: Callable[[], str | None],
    environ: Mapping[str, str],
) -> dict[str, Any] | None:
    """The JSON body the sidecar would send upstream for ``body``; None when it would refuse.

    ``token`` reads the stored token; it is only called for a model that needs one.

    ``inject`` is the injection spec the agent gives the sidecar (``Rendered.inject``); the
    sidecar's own functions apply it (:mod:`sidecar.inject`, shipped with the agent for this),
    so doctor's request carries the same fields with the same precedence. ``extra_body`` is
    flattened into the top level, as LiteLLM and the fast path send it.
    """
    injection = lookup(parse_spec(json.dumps(dict(inject))), model)
    out = dict(body)
    if injection is None:
        strip_transport_overrides(out)
    else:
        current = token() if injection.needs_token else None
        if refuses(injection, current):
            return None
        inject_extra_body(out, injection, current, environ)
    out.update(out.pop("extra_body", None) or {})
    return out
