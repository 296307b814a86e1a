"""Imports the LiteLLM proxy (slow) and serves it; only the entry imports this module."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from typing import TYPE_CHECKING

import uvicorn

from sidecar.asgi import ASGIApp, BridgeApp
from sidecar.server import SidecarServer
from sidecar.state import STATE

if TYPE_CHECKING:
    from sidecar.entry import Settings
    from sidecar.fast_path import FastPath


def _log(message: str) -> None:
    print(f"litellm-bridge-sidecar: {message}", file=sys.stderr, flush=True)


def disable_nagle(fd: int) -> None:
    """Set TCP_NODELAY on the inherited listening socket; accepted connections inherit it.

    uvicorn wraps an inherited fd as an AF_UNIX socket object, so asyncio does not set
    TCP_NODELAY on the connections it accepts: a response written as headers then body then
    waits for the client's delayed ACK (about 40 ms per response on Linux).
    """
    try:
        with socket.socket(fileno=os.dup(fd)) as listener:
            if listener.family in (socket.AF_INET, socket.AF_INET6):
                listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as exc:
        _log(f"cannot set TCP_NODELAY on the listening socket: {exc}")


def build_fast_path(settings: Settings) -> FastPath | None:
    """The fast path for the eligible models of the effective config, or None when off."""
    import yaml

    from sidecar import bridge_hook
    from sidecar.fast_path import FAST_PATH_ENV, FastPath, enabled
    from sidecar.fast_routes import load_routes

    if not enabled(os.environ):
        return None
    try:
        with open(settings.config_path, encoding="utf-8") as stream:
            config = yaml.safe_load(stream)
    except (OSError, yaml.YAMLError) as exc:
        _log(f"fast path off: cannot read the config ({exc})")
        return None
    routes = load_routes(config)
    if routes.disabled is not None:
        _log(f"fast path off: {routes.disabled}")
        return None
    for name, reason in routes.skipped.items():
        _log(f"fast path: {name} goes through LiteLLM ({reason})")
    if not routes:
        return None
    served = [*routes.models, *(p.model_name for p in routes.patterns if p.params is not None)]
    _log(f"fast path on for {', '.join(served)} ({FAST_PATH_ENV}=off to disable)")
    return FastPath(routes, os.environ["LITELLM_MASTER_KEY"], lambda: bridge_hook.bridge_hook.spec)


def build_server(settings: Settings) -> SidecarServer:
    from litellm.proxy.proxy_server import app as proxy_app

    from sidecar import bridge_hook
    from sidecar.warmup import WarmupIncomplete, warm_up

    inner: ASGIApp = proxy_app  # type: ignore[assignment]

    async def on_started() -> None:
        problem = bridge_hook.check_loaded_once()
        if problem is not None:
            # Nothing accepted yet: stop before the agent sees a sidecar that cannot inject.
            _log(f"cannot start: {problem}")
            os._exit(2)
        if not settings.warmup:
            return
        STATE.warming = True
        began = time.monotonic()
        try:
            steps = await warm_up(
                inner, os.environ["LITELLM_MASTER_KEY"], preferred=bridge_hook.bridge_hook.spec
            )
        except WarmupIncomplete as exc:
            _log(f"some warm-up requests failed ({exc}); those routes start cold")
            steps = exc.steps
        except Exception as exc:  # warm-up is an optimisation: never fatal
            _log(f"warm-up failed, continuing cold: {exc!r}")
            steps = []
        finally:
            STATE.warming = False
        total = (time.monotonic() - began) * 1000
        detail = ", ".join(f"{name} {ms:.0f} ms" for name, ms in steps)
        _log(f"warm-up took {total:.0f} ms ({detail})")

    app = BridgeApp(inner, on_started, os.environ["LITELLM_MASTER_KEY"], build_fast_path(settings))
    if settings.listen_fd is not None:
        disable_nagle(settings.listen_fd)
    # With an inherited fd uvicorn serves that socket and ignores host and port.
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        fd=settings.listen_fd,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        workers=1,
        log_level="info",
        access_log=False,
        timeout_keep_alive=5,
    )
    return SidecarServer(config, app)


def run(settings: Settings) -> int:
    from sidecar.handoff import listening_socket

    server = build_server(settings)
    try:
        shared = listening_socket(os.environ)  # Windows: the agent's socket.share(pid)
        if shared is None and settings.listen_fd is not None:
            # The inherited fd as the socket it is (uvicorn's own ``fd=`` wraps it as
            # AF_UNIX, which makes uvloop serve a TCP socket as a pipe).
            shared = socket.socket(fileno=settings.listen_fd)
    except OSError as exc:
        _log(f"cannot start: {exc}")
        return 2
    if shared is not None:  # the socket object itself: a handle cannot be os.dup'ed
        try:
            shared.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            _log(f"cannot set TCP_NODELAY on the listening socket: {exc}")
    try:
        # uvloop where it exists (LiteLLM's own proxy runs on it; Windows: asyncio).
        with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
            runner.run(server.serve(sockets=None if shared is None else [shared]))
    except SystemExit as exc:  # uvicorn exits this way when the app fails to start
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        return 130
    return 0 if server.started else 1
