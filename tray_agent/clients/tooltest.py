"""``clients test``: one short request the way a tool sends it, then the tool itself.

The request uses the tool's settings as its files hold them (``readback``) and the route the
tool uses (Anthropic ``/v1/messages``, Gemini ``generateContent``, ``/v1/responses``, chat).
Where the tool's program is installed it also runs once non-interactively with a short
timeout, in a fresh temporary folder (Gemini CLI is told to trust it). A failure is a cause
and a fix in the doctor's words, never a bare status code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from tray_agent.clients.base import KEY_ENV, ClientSetup
from tray_agent.clients.readback import Route, ToolSettings, read_settings, route_of
from tray_agent.clients.setup import mask
from tray_agent.clients.testfail import Failure, from_exception, from_response, not_set_up
from tray_agent.doctor.probe import proxy_for
from tray_agent.paths import Paths

PROMPT = "Reply with one word: ready"
REQUEST_TIMEOUT = 30.0
BINARY_TIMEOUT = 60.0


@dataclass
class BinaryRun:
    argv: list[str]
    ok: bool
    seconds: float
    answer: str = ""
    exit_code: int | None = None


@dataclass
class ToolTest:
    name: str
    title: str
    ok: bool
    route: Route
    url: str = ""
    model: str | None = None
    answer: str = ""
    seconds: float = 0.0
    cause: str | None = None
    fix: str | None = None
    binary: BinaryRun | None = None

    def line(self) -> str:
        """One sentence for a person: "Claude Code answered in 1.4 s" or why not, and the fix."""
        if self.ok:
            if self.binary is None:
                return f"{self.title} answered in {self.seconds:.1f} s"
            program = " ".join([os.path.basename(self.binary.argv[0]), *self.binary.argv[1:2]])
            return (
                f"{self.title} answered in {self.binary.seconds:.1f} s "
                f"(`{program}`; the request alone: {self.seconds:.1f} s)"
            )
        return f"{self.title} did not answer: {self.cause}. Fix: {self.fix}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _root(url: str) -> str:
    base = url.rstrip("/")
    return base.removesuffix("/v1")


def _request(route: Route, s: ToolSettings, model: str) -> tuple[str, dict[str, str], Any]:
    """(url, headers, body) of the short request ``route`` sends."""
    key = s.key or ""
    base = s.url.rstrip("/")
    messages = [{"role": "user", "content": PROMPT}]
    if route == "messages":
        headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
        return (
            f"{_root(base)}/v1/messages",
            headers,
            {
                "model": model,
                "max_tokens": 16,
                "messages": messages,
            },
        )
    if route == "gemini":
        body = {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]}
        url = f"{_root(base)}/v1beta/models/{model}:generateContent"
        return url, {"x-goog-api-key": key}, body
    bearer = {"Authorization": f"Bearer {key}"}
    if route == "responses":
        return f"{_root(base)}/v1/responses", bearer, {"model": model, "input": PROMPT}
    return (
        f"{_root(base)}/v1/chat/completions",
        bearer,
        {
            "model": model,
            "max_tokens": 16,
            "messages": messages,
        },
    )


def _answer(route: Route, data: Any) -> str:
    """The reply text in ``route``'s answer format ("" when it holds none)."""
    try:
        if route == "messages":
            return "".join(b.get("text", "") for b in data["content"] if isinstance(b, dict))
        if route == "gemini":
            parts = data["candidates"][0]["content"]["parts"]
            return "".join(p.get("text", "") for p in parts if isinstance(p, dict))
        if route == "responses":
            texts = [
                c.get("text", "")
                for item in data.get("output") or []
                if isinstance(item, dict)
                for c in item.get("content") or []
                if isinstance(c, dict) and c.get("type") == "output_text"
            ]
            return "".join(texts)
        return str(data["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""


def _client(url: str, environ: Mapping[str, str], timeout: float) -> httpx.Client:
    # The proxy the tool would use for this URL, from the tool's environment, not ours.
    var = proxy_for(url, dict(environ))
    proxy = environ.get(var) if var else None
    return httpx.Client(timeout=timeout, trust_env=False, proxy=proxy)


def served_models(s: ToolSettings, environ: Mapping[str, str], timeout: float) -> list[str]:
    url = f"{_root(s.url)}/v1/models"
    with _client(url, environ, timeout) as http:
        resp = http.get(url, headers={"Authorization": f"Bearer {s.key or ''}"})
    resp.raise_for_status()
    return [str(m.get("id")) for m in resp.json().get("data") or [] if isinstance(m, dict)]


def _fail(client: ClientSetup, route: Route, s: ToolSettings | None, f: Failure) -> ToolTest:
    return ToolTest(
        client.name,
        client.title,
        False,
        route,
        url=s.url if s else "",
        model=s.model if s else None,
        cause=f.cause,
        fix=f.fix,
    )


def check_tool(
    client: ClientSetup,
    paths: Paths,
    *,
    environ: Mapping[str, str] | None = None,
    run_binary: bool = True,
    timeout: float = REQUEST_TIMEOUT,
    binary_timeout: float = BINARY_TIMEOUT,
    fallback_key: str | None = None,
) -> ToolTest:
    """Send one request as ``client`` would, then run its program when installed.

    ``fallback_key`` is used (and said so) when the tool reads its key from a variable that
    is not set in ``environ``; a user's shell may have it, this process may not.
    """
    env = dict(os.environ if environ is None else environ)
    route = route_of(client)
    s = read_settings(client, paths, env)
    if s is None:
        return _fail(client, route, None, not_set_up(client))
    if s.key is None and fallback_key and client.name == "codex":
        env[KEY_ENV] = fallback_key
        s = read_settings(client, paths, env) or s
    if s.key is None:
        f = Failure(s.key_problem or f"no key in {s.where}", _setup_again(client))
        return _fail(client, route, s, f)
    secret = s.key
    model = s.model
    try:
        if model is None:
            served = served_models(s, env, timeout)
            if not served:
                f = Failure("the bridge serves no model", "add a model to config.yaml")
                return _fail(client, route, s, f)
            model = served[0]
        url, headers, body = _request(route, s, model)
        with _client(url, env, timeout) as http:
            began = time.monotonic()
            resp = http.post(url, json=body, headers=headers)
            took = time.monotonic() - began
    except httpx.HTTPStatusError as exc:
        return _fail(client, route, s, from_response(client, s, exc.response, env))
    except httpx.HTTPError as exc:
        return _fail(client, route, s, from_exception(client, s, exc, env))
    if resp.status_code != 200:
        return _fail(client, route, s, from_response(client, s, resp, env, model))
    result = ToolTest(
        client.name,
        client.title,
        True,
        route,
        url=s.url,
        model=model,
        answer=mask(_answer(route, resp.json()).strip(), secret),
        seconds=took,
    )
    if run_binary:
        run = run_program(client, s, env, binary_timeout, model if s.model is None else None)
        if run is not None:
            result.binary = run
            if not run.ok:
                result.ok = False
                program = " ".join([os.path.basename(run.argv[0]), *run.argv[1:2]])
                result.cause = (
                    f"the bridge answered, but `{program}` did not: {run.answer or 'no output'}"
                )
                result.fix = (
                    f"run `{' '.join(run.argv)}` in a terminal to see its full output; "
                    "`litellm-bridge doctor` checks the bridge side"
                )
    return result


def _setup_again(client: ClientSetup) -> str:
    return f"run `litellm-bridge clients setup {client.name}` again"


def program_argv(client: ClientSetup, model: str | None) -> list[str] | None:
    """The non-interactive command of ``client``'s program, when it has one and it is here."""
    exe = shutil.which(client.executables[0]) if client.executables else None
    if exe is None:
        return None
    if client.name == "claude-code":
        return [exe, "-p", PROMPT]
    if client.name == "gemini":
        # Without a model Gemini CLI first asks a routing model for JSON and retries for a
        # minute when the answer is prose; the tested model keeps the run short.
        return [exe, "-p", PROMPT, *(["-m", model] if model else [])]
    if client.name == "codex":
        return [exe, "exec", "--skip-git-repo-check", PROMPT]
    if client.name == "aider":
        extra = ["--model", f"openai/{model}"] if model else []
        return [exe, "--no-git", "--yes", "--message", PROMPT, *extra]
    return None  # curl and the SDKs: the request above is all they do


def run_program(
    client: ClientSetup,
    s: ToolSettings,
    environ: Mapping[str, str],
    timeout: float,
    model: str | None,
) -> BinaryRun | None:
    argv = program_argv(client, model)
    if argv is None:
        return None
    env = dict(environ)
    if client.name == "gemini":
        env["GEMINI_CLI_TRUST_WORKSPACE"] = "true"  # the temporary folder below is ours
    secret = s.key or ""
    with tempfile.TemporaryDirectory(prefix="bridge-tool-test-") as folder:
        began = time.monotonic()
        try:
            done = subprocess.run(
                argv,
                cwd=folder,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            took = time.monotonic() - began
            return BinaryRun(argv, False, took, f"no answer within {timeout:.0f} s")
        except OSError as exc:
            return BinaryRun(argv, False, 0.0, f"cannot run it: {exc.strerror or exc}")
        took = time.monotonic() - began
    out = mask(done.stdout.strip(), secret)
    if done.returncode != 0 or not out:
        err = mask(done.stderr.strip(), secret)
        tail = " ".join((err or out).splitlines()[-3:])[:300]
        return BinaryRun(argv, False, took, f"exit code {done.returncode}: {tail}", done.returncode)
    return BinaryRun(argv, True, took, out.splitlines()[-1][:300], 0)
