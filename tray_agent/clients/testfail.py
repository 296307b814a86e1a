"""Why a tool's test request failed, and what to do: the doctor's causes and fixes.

Each failure is matched to the doctor check that looks at it (proxy variables, the sidecar,
the sign-in, the internal API) so the words are the same wherever the user meets them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from tray_agent.clients.base import ClientSetup
from tray_agent.clients.readback import ToolSettings
from tray_agent.doctor.environment_checks import check_proxy_env
from tray_agent.doctor.probe import proxy_for
from tray_agent.doctor.token_check import SIGN_IN
from tray_agent.doctor.upstream_check import TOKEN_MISSING_TEXT

START = "start it: `litellm-bridge start` (or the tray's Start); `litellm-bridge doctor` says why"
UPSTREAM_FIX = (
    "the internal API (or the proxy's call to it) failed: check api_base and the network; "
    "see litellm-bridge logs --component sidecar"
)


@dataclass(frozen=True)
class Failure:
    cause: str
    fix: str


def not_set_up(client: ClientSetup) -> Failure:
    return Failure(
        f"{client.title} is not set up for the bridge",
        f"`litellm-bridge clients setup {client.name}` (or Set up coding tools… in the tray)",
    )


def _message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return " ".join(resp.text.split())[:240]
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        return str(err.get("message") or err)[:240]
    if isinstance(data, dict) and data.get("detail"):
        return str(data["detail"])[:240]
    return str(err or data)[:240]


def proxy_capture(url: str, environ: Mapping[str, str]) -> Failure | None:
    """The doctor's proxy-variable failure, when one would carry ``url`` to a proxy."""
    var = proxy_for(url, dict(environ))
    if var is None:
        return None
    from tray_agent.doctor.context import DoctorContext
    from tray_agent.paths import get_paths

    result = check_proxy_env(DoctorContext(get_paths(), environ=dict(environ)))
    return Failure(
        f"{var} sends the requests for {url} to the corporate proxy (NO_PROXY does not cover "
        "127.0.0.1)",
        result.fix or "add 127.0.0.1,localhost to NO_PROXY",
    )


def from_exception(
    client: ClientSetup, s: ToolSettings, exc: httpx.HTTPError, environ: Mapping[str, str]
) -> Failure:
    captured = proxy_capture(s.url, environ)
    if captured is not None:
        return captured
    if isinstance(exc, httpx.TimeoutException):
        return Failure(
            f"the bridge at {s.url} gave no answer in time",
            "`litellm-bridge doctor` checks the proxy and the internal API behind it",
        )
    if isinstance(exc, httpx.ConnectError):
        return Failure(f"nothing answers at {s.url} (the proxy is not running there)", START)
    return Failure(f"{type(exc).__name__} talking to {s.url}: {exc}", START)


def from_response(
    client: ClientSetup,
    s: ToolSettings,
    resp: httpx.Response,
    environ: Mapping[str, str],
    model: str | None = None,
) -> Failure:
    status = resp.status_code
    message = _message(resp)
    captured = proxy_capture(s.url, environ)
    if captured is not None:
        return captured
    if status == 401 and TOKEN_MISSING_TEXT in message:
        return Failure("the internal token is missing or expired", SIGN_IN)
    if status in (401, 403):
        return Failure(
            f"the bridge refused the key in {s.where} (HTTP {status}; the key changed since setup)",
            f"`litellm-bridge clients setup {client.name}` again",
        )
    if status in (400, 404) and model and model in message:
        return Failure(
            f"the bridge does not serve the model {model!r} {client.title} asks for",
            f"`litellm-bridge clients setup {client.name} --model NAME` with a served model "
            "(`litellm-bridge config show` lists them)",
        )
    if status >= 500:
        return Failure(f"HTTP {status} from the bridge: {message}", UPSTREAM_FIX)
    return Failure(
        f"HTTP {status} from the bridge: {message}",
        "`litellm-bridge doctor` checks every step; the model entry in config.yaml may be wrong",
    )
