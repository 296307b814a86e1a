"""A TUF repository made with installer/release.py, served by a loopback static HTTP server."""

from __future__ import annotations

import functools
import http.server
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from installer import keys
from installer.sign import sign_bundle


def payload(version: str) -> bytes:
    """1 MiB that does not compress: a download that takes a while on a slow server."""
    return random.Random(version).randbytes(1 << 20)


def fake_app(folder: Path, version: str, cache: Path) -> Path:
    """A small signed app folder shaped like the frozen one (version in its shipped source)."""
    app = folder / f"app-{version}" / "litellm-bridge"
    (app / "_internal" / "app" / "tray_agent").mkdir(parents=True)
    (app / "_internal" / "app" / "tray_agent" / "__init__.py").write_text(
        f'__version__ = "{version}"\n'
    )
    (app / "litellm-bridge").write_text("#!/bin/sh\necho fake\n")
    (app / "litellm-bridge").chmod(0o755)
    (app / "_internal" / "payload.bin").write_bytes(payload(version))
    key, _ = keys.signing_key(cache / "keys")
    sign_bundle(app, key)
    return app


class _Handler(http.server.SimpleHTTPRequestHandler):
    delay = 0.0  # seconds per 64 KiB chunk of a target file (a slow download)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
        if self.delay and "/targets/" in self.path:
            while chunk := source.read(65536):
                outputfile.write(chunk)
                time.sleep(self.delay)
        else:
            super().copyfile(source, outputfile)


@contextmanager
def serve(folder: Path, delay: float = 0.0) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"delay": delay})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
