"""Package measurements: bundle size, file count, .deb size, frozen vs venv sidecar cold start.

Usage: .venv/bin/python -m bench.package [--runs 5] [--no-build]
Builds with `make package` first (cached) unless --no-build. Loopback only: the demo profile
is answered by LiteLLM's mock_response.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from installer.build import APP_NAME, BUILD, DIST  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.packaging.frozen import build_packages, built_public_key  # noqa: E402
from tray_agent.control.client import ControlClient  # noqa: E402
from tray_agent.integrity import verify as verify_mod  # noqa: E402
from tray_agent.paths import get_paths  # noqa: E402


def tree_size(root: Path) -> tuple[int, int]:
    size = files = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            if not p.is_symlink():
                size += p.stat().st_size
            files += 1
    return size, files


def cold_starts(argv: list[str], runs: int) -> list[float]:
    """Seconds from 'start' to the sidecar answering, ``runs`` times, via one agent."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = {**os.environ, "LITELLM_BRIDGE_HOME": str(home)}
        env.pop("LITELLM_BRIDGE_SIDECAR_CMD", None)
        subprocess.run(
            [*argv, "init", "--template", "demo", "--non-interactive", "--port", str(free_port())],
            env=env,
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        log = open(home / "agent.log", "wb")  # noqa: SIM115
        agent = subprocess.Popen(
            [*argv, "run", "--quiet", "--no-start"], env=env, stdout=log, stderr=log, cwd=ROOT
        )
        old = os.environ.get("LITELLM_BRIDGE_HOME")
        os.environ["LITELLM_BRIDGE_HOME"] = str(home)
        try:
            paths = get_paths()
            client = None
            deadline = time.monotonic() + 60
            while client is None and time.monotonic() < deadline:
                client = ControlClient.connect(paths)
                time.sleep(0.1)
            assert client is not None, (home / "agent.log").read_text()
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                client.call("start", timeout=600)
                times.append(time.perf_counter() - t0)
                client.call("stop", timeout=120)
            client.close()
            return times
        finally:
            if old is None:
                os.environ.pop("LITELLM_BRIDGE_HOME", None)
            else:
                os.environ["LITELLM_BRIDGE_HOME"] = old
            agent.terminate()
            agent.wait(60)
            log.close()


def verification_times(
    app: Path, runs: int
) -> tuple[list[float], list[float], list[float], int, int]:
    """First launch (everything hashed), a relaunch by the same agent, and the first launch
    of a later agent run that finds its verified record (stat walk + record check)."""
    key = built_public_key()
    full, cached, recorded = [], [], []
    result = None
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            verify_mod.remember_verified(Path(tmp) / f"record-{run}.json", os.urandom(32))
            verify_mod.forget_verified()
            result = verify_mod.verify_bundle(app, app / "sidecar", key)
            full.append(result.seconds)
            cached.append(verify_mod.verify_bundle(app, app / "sidecar", key).seconds)
            verify_mod.forget_verified()  # a new agent process
            again = verify_mod.verify_bundle(app, app / "sidecar", key)
            assert again.hashed == 0, again
            recorded.append(again.seconds)
        verify_mod.remember_verified(None)
    assert result is not None
    return full, cached, recorded, result.files, result.bytes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    deb = build_packages("xz") if not args.no_build else sorted(DIST.glob("*.deb"))[-1]
    app = BUILD / "app" / APP_NAME
    size, files = tree_size(app)
    side_size, side_files = tree_size(app / "sidecar")
    full, cached, recorded, vfiles, vbytes = verification_times(app, args.runs)
    frozen = cold_starts([str(app / APP_NAME)], args.runs)
    venv = cold_starts([sys.executable, "-m", "tray_agent"], args.runs)
    med = statistics.median
    rows = [
        ("bundle size (app folder)", f"{size / 1e6:.0f} MB"),
        ("  of which sidecar", f"{side_size / 1e6:.0f} MB"),
        ("files in bundle", f"{files}"),
        ("  of which sidecar", f"{side_files}"),
        (".deb size", f"{deb.stat().st_size / 1e6:.0f} MB"),
        ("sidecar verification, first launch", f"{med(full) * 1000:.0f} ms"),
        ("  files / MB hashed", f"{vfiles} / {vbytes / 1e6:.0f}"),
        ("sidecar verification, relaunch", f"{med(cached) * 1000:.0f} ms"),
        ("sidecar verification, next agent run", f"{med(recorded) * 1000:.0f} ms"),
        (f"frozen sidecar cold start, median of {args.runs}", f"{med(frozen):.2f} s"),
        ("  min / max", f"{min(frozen):.2f} / {max(frozen):.2f} s"),
        (f"venv sidecar cold start, median of {args.runs}", f"{med(venv):.2f} s"),
        ("  min / max", f"{min(venv):.2f} / {max(venv):.2f} s"),
    ]
    print(f"{'metric':<44} {'value':>14}")
    for name, value in rows:
        print(f"{name:<44} {value:>14}")


if __name__ == "__main__":
    main()
