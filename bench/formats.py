"""What format numbers and migrations cost a reader.

Usage: .venv/bin/python -m bench.formats [--runs 2000]
Times, on the env store of the 0.1.0 fixtures: reading it with the format check (what every
read now does), the check alone, and one migration on read (backup + step + write, both
files fsynced) with a step registered here (no product format needs one yet); and the
audit writer's look at a file's first line (done once per file and writer, then cached).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tray_agent import formats  # noqa: E402
from tray_agent.audit import log as audit_log  # noqa: E402
from tray_agent.envstore.store import EnvStore  # noqa: E402

FIXTURE = ROOT / "tests" / "update" / "fixtures" / "0.1.0" / "env.json"


def per_call(call: Callable[[], object], runs: int) -> float:
    """Median seconds per call over ``runs`` calls (in 10 batches)."""
    batches = []
    for _ in range(10):
        began = time.perf_counter()
        for _ in range(max(1, runs // 10)):
            call()
        batches.append((time.perf_counter() - began) / max(1, runs // 10))
    return statistics.median(batches)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=2000)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "env.json"
        shutil.copy(FIXTURE, path)
        doc = json.loads(path.read_text())
        check = per_call(lambda: formats.check_format(doc, formats.ENV.name, path), runs)
        read = per_call(lambda: EnvStore(path).entries(), runs)
        print(f"format check alone:            {check * 1e6:8.2f} us")
        print(f"env store read (with check):   {read * 1e6:8.2f} us")

        env = formats.ENV
        formats.KINDS[env.name] = formats.Kind(env.name, env.what, 2, key=env.key)
        formats.STEPS[env.name] = {1: lambda d: {**d, "note": "migrated"}}
        took = []
        try:
            for _ in range(20):
                shutil.copy(FIXTURE, path)
                began = time.perf_counter()
                EnvStore(path).entries()
                took.append(time.perf_counter() - began)
        finally:
            formats.KINDS[env.name], formats.STEPS[env.name] = env, {}
        print(f"migration on read (1 step):    {statistics.median(took) * 1e3:8.2f} ms median")

        audit = Path(tmp) / "audit"
        shutil.copytree(FIXTURE.parent / "audit", audit)
        newest = audit_log.log_files(audit)[-1]
        lookup = per_call(lambda: audit_log._file_format(newest), runs)
        print(f"audit first-line format read:  {lookup * 1e6:8.2f} us (once per file and writer)")


if __name__ == "__main__":
    main()
