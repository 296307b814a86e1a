"""Package measurements: bundle size, file count, .deb size, frozen vs venv sidecar cold start.

Usage: .venv/bin/python -m bench.package [--runs 5] [--no-build] [--sizes] [--top 25]
Builds with `make package` first (cached) unless --no-build. Loopback only: the demo profile
is answered by LiteLLM's mock_response. --sizes prints only the size tables (no timings):
the largest distributions and folders of each program, and the bytes both carry.
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


def _owner(rel: Path) -> str:
    """What a file under ``_internal`` belongs to: its distribution, Python, or a library."""
    parts = rel.parts
    if len(parts) == 1:
        name = parts[0]
        if name.startswith("libpython") or name == "base_library.zip":
            return "python"
        return "system libraries" if ".so" in name else name
    top = parts[0]
    if top == "python3.11" or top.startswith("python3"):
        return "python"
    if top in ("share", "lib", "gi_typelibs", "gio_modules"):
        return f"gtk {top}"
    if top.endswith(".libs"):
        top = top[: -len(".libs")]
    if top.endswith((".dist-info", ".egg-info")):
        return "metadata (dist-info)"
    return top


def size_rows(app: Path) -> tuple[dict[tuple[str, str], int], int]:
    """Bytes per (program, owner), and the bytes both programs hold identically."""
    sizes: dict[tuple[str, str], int] = {}
    seen: dict[tuple[int, str], str] = {}
    shared = 0
    for dirpath, _dirs, names in os.walk(app):
        for name in names:
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            rel = path.relative_to(app)
            program = "sidecar" if rel.parts[0] == "sidecar" else "agent"
            inner = rel.relative_to("sidecar") if program == "sidecar" else rel
            internal = inner.parts[0] == "_internal" and len(inner.parts) > 1
            owner = _owner(inner.relative_to("_internal")) if internal else "executable, manifest"
            size = path.stat().st_size
            sizes[(program, owner)] = sizes.get((program, owner), 0) + size
            key = (size, str(inner))
            if key in seen and seen[key] != program:
                shared += size
            seen.setdefault(key, program)
    return sizes, shared


def print_size_table(app: Path, deb: Path | None, top: int) -> None:
    sizes, shared = size_rows(app)
    total = sum(sizes.values())
    print(f"{'program':<8} {'distribution / folder':<36} {'MB':>8}")
    for (program, owner), size in sorted(sizes.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{program:<8} {owner:<36} {size / 1e6:>8.1f}")
    for program in ("agent", "sidecar"):
        part = sum(v for (p, _o), v in sizes.items() if p == program)
        print(f"{program:<8} {'(all)':<36} {part / 1e6:>8.1f}")
    print(f"{'both':<8} {'same path and size in both programs':<36} {shared / 1e6:>8.1f}")
    print(f"{'':<8} {'app folder':<36} {total / 1e6:>8.1f}")
    if deb is not None:
        installed = _installed_kb(deb)
        print(f"{'':<8} {'.deb Installed-Size (hard links once)':<36} {installed / 1e3:>8.1f}")
        print(f"{'':<8} {'.deb file ' + deb.name:<36} {deb.stat().st_size / 1e6:>8.1f}")


def _installed_kb(deb: Path) -> int:
    out = subprocess.run(
        ["dpkg-deb", "--field", str(deb), "Installed-Size"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip() or 0)


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


def compare_cold_starts(old: Path, new: Path, runs: int) -> None:
    """Both packages extracted, one run of each in turn (a busy machine slows both alike)."""
    times: dict[str, list[float]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        apps = {}
        for label, deb in (("old", old), ("new", new)):
            root = Path(tmp) / label
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
            apps[label] = root / "opt" / APP_NAME / APP_NAME
        for _ in range(runs):
            for label, exe in apps.items():
                times[label] += cold_starts([str(exe)], 1)
    print(f"{'frozen sidecar cold start':<32} {'median':>8} {'min':>8} {'max':>8}")
    for label, deb in (("old", old), ("new", new)):
        t = times[label]
        row = f"{statistics.median(t):>7.2f}s {min(t):>7.2f}s {max(t):>7.2f}s"
        print(f"{label + ' ' + deb.name:<32} {row}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--sizes", action="store_true", help="only the size tables")
    ap.add_argument("--top", type=int, default=25, help="rows of the size table")
    ap.add_argument(
        "--compare",
        type=Path,
        metavar="OLD.deb",
        help="frozen sidecar cold start of OLD.deb and of this build, runs interleaved",
    )
    args = ap.parse_args()
    deb = build_packages("xz") if not args.no_build else sorted(DIST.glob("*.deb"))[-1]
    if args.compare:
        compare_cold_starts(args.compare, deb, args.runs)
        return
    app = BUILD / "app" / APP_NAME
    print_size_table(app, deb, args.top)
    if args.sizes:
        return
    print()
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
