"""Run CLI commands as parallel processes on one home; list a home's keyring items."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.agentproc import ROOT, env_for
from tray_agent.paths import Paths
from tray_agent.secrets import SERVICE


def keyring_names(paths: Paths) -> set[str]:
    """Names of this home's items in the real keyring (Secret Service, read directly)."""
    import secretstorage

    prefix = f"{paths.keyring_namespace}/"
    conn = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(conn)
        users = [
            i.get_attributes().get("username", "")
            for i in collection.search_items({"service": SERVICE})
        ]
    finally:
        conn.close()
    return {u.removeprefix(prefix) for u in users if u.startswith(prefix)}


Job = tuple[list[str], str | None]  # arguments, stdin (None: no stdin)


def run_parallel(home: Path, jobs: list[Job]) -> list[subprocess.CompletedProcess[str]]:
    """Start every command at once, hand each its stdin, and wait for all of them."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tray_agent", *args],
            env=env_for(home),
            cwd=ROOT,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args, stdin in jobs
    ]
    for proc, (_, stdin) in zip(procs, jobs, strict=True):
        if stdin is not None and proc.stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
            proc.stdin = None  # communicate() must not write again
    done = []
    for proc, (args, _) in zip(procs, jobs, strict=True):
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return done
