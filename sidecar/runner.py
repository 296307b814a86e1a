"""Imports the LiteLLM proxy (slow) and serves it; only the entry imports this module."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import TYPE_CHECKING

import uvicorn

from sidecar.asgi import ASGIApp, BridgeApp
from sidecar.server import SidecarServer
from sidecar.state import STATE

if TYPE_CHECKING:
    from sidecar.entry import Settings


def _log(message: str) -> None:
    print(f"litellm-bridge-sidecar: {message}", file=sys.stderr, flush=True)


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

    app = BridgeApp(inner, on_started)
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
    server = build_server(settings)
    try:
        asyncio.run(server.serve())
    except SystemExit as exc:  # uvicorn exits this way when the app fails to start
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        return 130
    return 0 if server.started else 1
