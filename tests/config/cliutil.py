"""Run this package's command handlers in-process, as the real CLI would, or the real
`config validate` as a child process."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tray_agent.commands import config, env, init, templates
from tray_agent.commands.context import CliContext, UserError
from tray_agent.paths import get_paths


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(*argv: str) -> Result:
    parser = argparse.ArgumentParser(prog="litellm-bridge")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (config, env, init, templates):
        module.register(sub)
    args = parser.parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    ctx = CliContext(paths=get_paths(), out=out, err=err)
    try:
        code = int(args.func(args, ctx) or 0)
    except UserError as exc:
        err.write(f"error: {exc}\n")
        if exc.hint:
            err.write(f"hint: {exc.hint}\n")
        code = exc.code
    return Result(code, out.getvalue(), err.getvalue())


ROOT = Path(__file__).resolve().parents[2]


def validate_child(home: Path, target: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``litellm-bridge config validate --no-env [TARGET]`` as a child, in a private home."""
    args = ["config", "validate", "--no-env", *([str(target)] if target else [])]
    return subprocess.run(
        [sys.executable, "-m", "tray_agent", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"LITELLM_BRIDGE_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
