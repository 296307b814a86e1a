"""What decides whether the slow PyInstaller builds run again."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_a_submodule_imported_by_name_from_its_package_is_named_too(tmp_path: Path) -> None:
    # ``import tkinter`` does not import tkinter.font: a build given only "tkinter" left the
    # dialogs' fonts, ttk and file dialogs out of the frozen agent.
    pkg = tmp_path / "tray_agent"
    pkg.mkdir()
    (pkg / "base.py").write_text(
        "from tkinter import font as tkfont, ttk\nfrom tkinter import TclError\n"
        "from json import decoder, loads\n"
    )
    assert imported_modules(pkg) == [
        "json",
        "json.decoder",
        "tkinter",
        "tkinter.font",
        "tkinter.ttk",
    ]


def test_sidecar_code_changes_reuse_the_frozen_libraries() -> None:
    # The sidecar's own code is copied at assembly; only its imports key the frozen build.
    assert not any(p.startswith("sidecar/") and p.endswith(".py") for p in build.SIDECAR_INPUTS)
    assert "sidecar/requirements.lock" in build.SIDECAR_INPUTS


def test_fingerprint_changes_with_the_inputs(tmp_path: Path) -> None:
    a = build.fingerprint(["installer/sidecar.spec"], "x")
    assert a == build.fingerprint(["installer/sidecar.spec"], "x")
    assert a != build.fingerprint(["installer/sidecar.spec"], "y")


def test_cached_build_is_reused_while_it_provides_every_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "CACHE", tmp_path)
    cached = tmp_path / "sidecar-0123456789abcdef0123"
    (cached / "sidecar").mkdir(parents=True)
    (cached / "complete").write_text("key")
    (cached / build.MODULES_FILE).write_text("json\nlitellm\nuvicorn\n")
    ran: list[str] = []
    monkeypatch.setattr(build.subprocess, "run", lambda *a, **k: ran.append("pyinstaller"))
    key = "0123456789abcdef0123" + "0" * 44
    assert build.pyinstaller("sidecar.spec", "sidecar", key, needs=["json", "uvicorn"])
    assert ran == []
    with pytest.raises(FileNotFoundError):  # the fake run left no build to read
        build.pyinstaller("sidecar.spec", "sidecar", key, needs=["json", "statistics"])
    assert ran == ["pyinstaller"]
