"""The build refuses environments that must not be frozen."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer import build, preflight


@pytest.mark.parametrize("version", ["1.82.7", "1.82.8", "1.107.0", "1.107.12"])
def test_denied_litellm_versions_are_refused(version: str, tmp_path: Path) -> None:
    found = preflight.problems(dirs=[tmp_path], litellm_version=version)
    assert len(found) == 1
    assert f"litellm {version} is on the deny list" in found[0]


@pytest.mark.parametrize("version", ["1.106.12", "1.83.7", "1.108.0", "1.82.70"])
def test_other_litellm_versions_pass(version: str, tmp_path: Path) -> None:
    assert preflight.problems(dirs=[tmp_path], litellm_version=version) == []


def test_unexpected_pth_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "distutils-precedence.pth").write_text("import os\n")
    (tmp_path / "__editable__.litellm_bridge-0.1.0.pth").write_text("/src\n")
    (tmp_path / "litellm_init.pth").write_text("import base64; exec(...)\n")
    found = preflight.problems(dirs=[tmp_path], litellm_version="1.106.12")
    assert len(found) == 1
    assert "litellm_init.pth" in found[0]


def test_build_stops_before_pyinstaller_on_a_bad_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "evil.pth").write_text("import os\n")
    monkeypatch.setattr(preflight, "site_dirs", lambda: [tmp_path])

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("PyInstaller ran on a refused environment")

    monkeypatch.setattr(build, "pyinstaller", no_build)
    assert build.main(["bundle"]) == 1
    assert "evil.pth" in capsys.readouterr().err


def test_environment_being_frozen_passes() -> None:
    assert preflight.problems() == []
