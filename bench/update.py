"""Signed update costs with the real frozen build: check, download + verify, switch.

Usage: make package && .venv/bin/python -m bench.update [--level 6]
Publishes a ``--version`` copy of build/package/app/litellm-bridge into a temporary TUF
repository served on loopback, then times the frozen CLI in a fresh home: ``update check``
(first, with no trusted metadata yet, and again), ``update apply`` (download through ngclient
with its hash and length check, unpack, the app's signed-manifest check, the switch), the
pointer switch alone, and what the hand-off from the base package to ``versions/V`` adds
to a command (``--version``).
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


if __name__ == "__main__":
    main()
