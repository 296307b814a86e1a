"""claude-code-router for bench/overhead.py: installed (pinned), configured and started.

The peer the issue compares against: it translates Anthropic ``/v1/messages`` to OpenAI chat
for one provider. Installed by ``bench/install_ccr.sh`` (``scripts/setup.sh --dev`` runs it);
configured in a private HOME with logging off and an API key, pointed at the bench's
stand-in, and run as one ``node`` process the bench measures like a sidecar.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
INSTALLER = ROOT / "bench" / "install_ccr.sh"
START_TIMEOUT = 30.0


@dataclass
class Router:
    proc: subprocess.Popen[bytes]
    url: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _entry() -> Path | str:
    """The router's CLI script, or why it is not there."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node/npm not installed (scripts/setup.sh --dev installs them)"
    done = subprocess.run(
        ["bash", str(INSTALLER)], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        return f"{INSTALLER.name} failed: {done.stderr.strip()[-500:]}"
    package = Path(done.stdout.strip().splitlines()[-1]).resolve().parent.parent
    script = package / "dist" / "cli.js"
    return script if script.is_file() else f"no {script} after installing"


def start(directory: Path, upstream: str, model: str, key: str) -> Router | str:
    """A running router in front of ``upstream`` serving ``model``, or why not."""
    script = _entry()
    if isinstance(script, str):
        return script
    home = directory / "ccr-home"
    (home / ".claude-code-router").mkdir(parents=True, exist_ok=True)
    port = _free_port()
    config = {
        "LOG": False,
        "HOST": "127.0.0.1",
        "PORT": port,
        "APIKEY": key,
        "NON_INTERACTIVE_MODE": True,
        "Providers": [
            {
                "name": "standin",
                "api_base_url": f"{upstream}/v1/chat/completions",
                "api_key": "none",
                "models": [model],
            }
        ],
        "Router": {"default": f"standin,{model}"},
    }
    path = home / ".claude-code-router" / "config.json"
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    proc = subprocess.Popen(
        ["node", str(script), "start"],
        env={**os.environ, "HOME": str(home)},
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    router = Router(proc, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + START_TIMEOUT
    body = {"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"claude-code-router exited with {proc.returncode} at start"
        try:
            answer = httpx.post(
                router.url + "/v1/messages", json=body, headers={"x-api-key": key}, timeout=5
            )
            if answer.status_code == 200:
                return router
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    router.stop()
    return f"claude-code-router did not answer within {START_TIMEOUT:.0f} s"
