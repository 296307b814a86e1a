"""Signed update costs with the real frozen build: check, download + verify, switch.

Usage: make package && .venv/bin/python -m bench.update [--level 6]
Publishes a ``--version`` copy of build/package/app/litellm-bridge into a temporary TUF
repository served on loopback, then times the frozen CLI in a fresh home: ``update check``
(first, with no trusted metadata yet, and again), ``update apply`` (download through ngclient
with its hash and length check, unpack, the app's signed-manifest check, the switch), the
pointer switch alone, what the hand-off from the base package to ``versions/V`` adds
to a command (``--version``), and a live switch of a serving agent (``restart --agent``, the
hand-over an update does) while a client calls the proxy: how long until the new agent
serves, requests answered meanwhile, failures, the slowest answer. The live switch needs the
OS keyring (``scripts/with-desktop.sh``); without one it is skipped with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from installer import release  # noqa: E402
from installer.build import BUILD  # noqa: E402
from tests.update.repo import serve  # noqa: E402
from tray_agent.update.layout import Layout  # noqa: E402


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
    took = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[1:])} failed: {done.stdout}{done.stderr[-800:]}")
    return took, done.stdout


def median_of(runs: int, argv: list[str], env: dict[str, str]) -> float:
    return statistics.median(timed(argv, env)[0] for _ in range(runs))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--level", type=int, default=6, help="gzip level of the archive (1-9)")
    ap.add_argument("--app", type=Path, default=BUILD / "app" / "litellm-bridge")
    args = ap.parse_args()
    exe = args.app / "litellm-bridge"
    if not exe.is_file():
        raise SystemExit(f"{exe} is missing: run `make package` first")
    with tempfile.TemporaryDirectory() as tmp:
        repo, home = Path(tmp) / "repo", Path(tmp) / "home"
        began = time.perf_counter()
        version, _names = release.publish(repo, args.app, "99.0.0", level=args.level)
        publish_s = time.perf_counter() - began
        archive_mb = max(p.stat().st_size for p in (repo / "targets").rglob("*.tar.gz")) / 1e6
        env = {**os.environ, "LITELLM_BRIDGE_HOME": str(home)}
        with serve(repo) as url:
            (home / "config").mkdir(parents=True)
            (home / "config" / "config.yaml").write_text(f"bridge:\n  update:\n    url: {url}\n")
            cmd = [str(exe), "update"]
            first, out = timed([*cmd, "check", "--json"], env)
            assert json.loads(out)["available"] == version, out
            warm = median_of(5, [*cmd, "check", "--json"], env)
            apply_s, out = timed([*cmd, "apply", "--json"], env)
            assert json.loads(out)["installed"] == version, out
        layout = Layout(home / "data")
        switches = []
        for _ in range(50):
            began = time.perf_counter()
            with layout.editing() as state:
                layout.switch(state, version, trial=False)
            switches.append(time.perf_counter() - began)
        base_only = dict(env, LITELLM_BRIDGE_HOME=str(Path(tmp) / "plain-home"))
        direct = median_of(5, [str(exe), "--version"], base_only)
        handed = median_of(5, [str(exe), "--version"], env)
    print(f"archive: {archive_mb:.1f} MB (gzip -{args.level})")
    print(f"publish (copy, re-sign, archive, sign metadata): {publish_s:.1f} s")
    print(f"update check, first (no trusted metadata):  {first * 1000:.0f} ms")
    print(f"update check, again (median of 5):          {warm * 1000:.0f} ms")
    print(f"update apply (download + verify + install): {apply_s:.1f} s")
    print(
        f"switch of the current pointer (median of 50): {statistics.median(switches) * 1e3:.2f} ms"
    )
    print(f"--version: base {direct * 1000:.0f} ms, handed to versions/V {handed * 1000:.0f} ms")
    live_switch(exe)


def live_switch(exe: Path) -> None:
    """``restart --agent`` on a serving frozen agent (demo profile) with a client calling."""
    from tests.conftest import free_port
    from tests.helpers.load import Load

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "LITELLM_BRIDGE_HOME": tmp}
        for name in ("LITELLM_BRIDGE_SIDECAR_CMD", "PYTHONPATH", "VIRTUAL_ENV"):
            env.pop(name, None)
        port = free_port()
        init = [str(exe), "init", "--template", "demo", "--non-interactive", "--port", str(port)]
        timed(init, env)
        agent = subprocess.Popen(
            [str(exe), "run", "--quiet"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            timed([str(exe), "start", "--json"], env)
            _, key = timed([str(exe), "key"], env)
            url = f"http://127.0.0.1:{port}"
            demo = "LiteLLM Bridge demo model"
            with Load(url, key.strip(), model="demo", expect=demo, clients=2) as load:
                load.wait_served(20)
                before, began = load.ok, time.perf_counter()
                done = subprocess.run(
                    [str(exe), "restart", "--agent", "--json"],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                took = time.perf_counter() - began
                load.wait_served(load.ok + 20)
            if done.returncode != 0:
                print(f"live switch: skipped ({(done.stderr or done.stdout).strip()[-200:]})")
                return
            print(
                f"live switch (restart --agent, frozen): new agent serving after {took:.1f} s; "
                f"{load.ok - before} requests meanwhile and after, {len(load.failures)} failed, "
                f"slowest {load.slowest * 1000:.0f} ms"
            )
        finally:
            subprocess.run([str(exe), "stop", "--agent"], env=env, capture_output=True, timeout=120)
            agent.wait(60)


if __name__ == "__main__":
    main()
