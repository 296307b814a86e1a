"""Make a child Python process believe it is a frozen build (``sys.frozen``), for the code
paths a packaged agent takes; the real frozen build lives in tests/packaging."""

from __future__ import annotations

from pathlib import Path

SITECUSTOMIZE = "import sys\nsys.frozen = True\n"


def frozen_pythonpath(directory: Path) -> str:
    """A directory to put first on PYTHONPATH: its sitecustomize sets ``sys.frozen``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return str(directory)
