"""How fast the sidecar exits: a start-up refusal, stdin EOF during start-up and when ready.

Usage: .venv/bin/python -m bench.sidecar_exit [--runs 3]
The tests check what happens (exit code, no litellm import, no "ready"); this prints how long
it takes. Targets: refusal and EOF exits well under 5 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.sidecar import launch_sidecar, mock_model, write_effective_config  # noqa: E402

KEY = "sk-" + "a" * 40


def refusal(directory: Path) -> float:
    began = time.monotonic()
    launch_sidecar(directory / "missing.yaml", master_key=KEY).wait(60)
    return time.monotonic() - began


def eof_exit(directory: Path, ready: bool) -> float:
    config = write_effective_config(directory, [mock_model("demo")])
    sidecar = launch_sidecar(config, master_key=KEY)
    if ready:
        sidecar.wait_ready(300)
    else:
        time.sleep(0.5)  # a bench, not a test: still importing litellm
    began = time.monotonic()
    sidecar.close_stdin()
    sidecar.wait(60)
    return time.monotonic() - began


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    runs = ap.parse_args().runs
    rows: dict[str, list[float]] = {
        "refusal before litellm import": [],
        "stdin EOF during start-up": [],
        "stdin EOF when ready": [],
    }
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            d = Path(tmp)
            rows["refusal before litellm import"].append(refusal(d))
            rows["stdin EOF during start-up"].append(eof_exit(d, ready=False))
            rows["stdin EOF when ready"].append(eof_exit(d, ready=True))
    for name, times in rows.items():
        print(f"{name:32s} median {statistics.median(times):6.2f} s  max {max(times):6.2f} s")


if __name__ == "__main__":
    main()
