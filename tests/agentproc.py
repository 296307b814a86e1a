"""Drive a real agent process (``python -m tray_agent run``) in a private home."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def write_config(
    home: Path,
    port: int,
    extra_models: list[dict[str, Any]] | None = None,
    bridge: dict[str, Any] | None = None,
) -> Path:
    cfg = {
        "model_list": [
            {
                "model_name": "demo-chat",
                "litellm_params": {"model": "openai/demo-chat", "mock_response": "demo says hi"},
            },
            *(extra_models or []),
        ],
        "bridge": {"port": port, **(bridge or {})},
    }
    path = home / "config" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def corp_model(llm_url: str, api_key: str, project: str) -> dict[str, Any]:
    """``corp-llm``: the stand-in internal LLM behind the token contract (token + project)."""
    return {
        "model_name": "corp-llm",
        "litellm_params": {
            "model": "hosted_vllm/internal-model",
            "api_base": llm_url + "/v1",
            "api_key": api_key,
            "extra_body": {"token": "os.environ/LITELLM_BRIDGE_TOKEN", "project": project},
        },
    }


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["LITELLM_BRIDGE_HOME"] = str(home)
    env.update(extra)
    return env


def cli(
    home: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tray_agent", *args],
        env=env or env_for(home),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        cwd=ROOT,
    )


def token_login(
    home: Path, env: dict[str, str] | None, stdin: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``token login`` for the stand-in user (e1001), the password given on stdin."""
    args = ("token", "login", "--employee-id", "e1001", "--password-stdin", *extra)
    return cli(home, *args, env=env, stdin=stdin)


class AgentProc:
    def __init__(self, home: Path, env: dict[str, str] | None = None, start_sidecar: bool = True):
        self.home = home
        self.env = env or env_for(home)
        args = [sys.executable, "-m", "tray_agent", "run", "--quiet"]
        if not start_sidecar:
            args.append("--no-start")
        self.log = open(home / "agent-stdout.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(args, env=self.env, stdout=self.log, stderr=self.log, cwd=ROOT)

    @property
    def config_file(self) -> Path:
        return self.home / "config" / "config.yaml"

    def status(self) -> dict[str, Any] | None:
        r = cli(self.home, "status", "--json", env=self.env, timeout=30)
        if r.returncode == 3:
            return None
        return json.loads(r.stdout)

    def wait_for(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float = 150, what: str = "condition"
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"agent exited with {self.proc.returncode}: {self.output()}")
            try:
                last = self.status()
            except (json.JSONDecodeError, subprocess.TimeoutExpired):
                last = None
            if last is not None and pred(last):
                return last
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}; last status: {last}")

    def wait_running(self, timeout: float = 240) -> dict[str, Any]:
        return self.wait_for(lambda s: s["sidecar"]["state"] == "running", timeout, "running")

    def output(self) -> str:
        return (self.home / "agent-stdout.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


@contextlib.contextmanager
def running_agent(home: Path, **config: Any) -> Iterator[AgentProc]:
    """An agent on a fresh config (``write_config`` keywords) with its sidecar running."""
    write_config(home, free_port(), **config)
    a = AgentProc(home)
    try:
        a.wait_running()
        yield a
    finally:
        a.stop()
