"""What decides whether the slow PyInstaller builds run again."""

from __future__ import annotations

from pathlib import Path

from installer import build
from installer.imports import imported_modules


def test_imports_of_a_package_are_found_without_running_it(tmp_path: Path) -> None:
    pkg = tmp_path / "sidecar"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "entry.py").write_text(
        "from __future__ import annotations\nimport os, json\nfrom sidecar.x import y\n"
        "from . import z\n\ndef f():\n    import uvicorn\n    from litellm.proxy import app\n"
    )
    assert imported_modules(pkg) == ["json", "litellm.proxy", "os", "uvicorn"]


def test_sidecar_code_changes_reuse_the_frozen_libraries() -> None:
    # The sidecar's own code is copied at assembly; only its imports key the frozen build.
    assert not any(p.startswith("sidecar/") and p.endswith(".py") for p in build.SIDECAR_INPUTS)
    assert "sidecar/requirements.lock" in build.SIDECAR_INPUTS


def test_fingerprint_changes_with_the_inputs(tmp_path: Path) -> None:
    a = build.fingerprint(["installer/sidecar.spec"], "x")
    assert a == build.fingerprint(["installer/sidecar.spec"], "x")
    assert a != build.fingerprint(["installer/sidecar.spec"], "y")
