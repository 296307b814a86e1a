"""The per-machine MSI, built with wixl and read back with msiinfo.

No Windows build exists on Linux, so the MSI is built over a small stand-in of the Windows app
folder (the same layout: the agent's .exe, ``_internal/``, ``sidecar/``, the signed manifest);
the real one is built the same way over the Windows bundle.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from installer.msi import build_msi

ROOT = Path(__file__).resolve().parents[2]
UPGRADE_CODE = "{6A0C7A52-1B7E-4E43-9A58-5C2E3D8F4B17}"
STAND_IN = [
    "litellm-bridge.exe",
    "_internal/base_library.zip",
    "_internal/app/tray_agent/__init__.py",
    "sidecar/litellm-bridge-sidecar.exe",
    "sidecar/_internal/python311.dll",
    "manifest.json",
    "manifest.json.sig",
]

pytestmark = pytest.mark.skipif(
    not (shutil.which("wixl") and shutil.which("msiinfo")) and not os.environ.get("CI"),
    reason="wixl/msiinfo not installed (apt install wixl msitools; scripts/setup.sh --dev)",
)


def stand_in(root: Path) -> Path:
    app = root / "litellm-bridge"
    for index, name in enumerate(STAND_IN):
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_bytes(b"MZ stand-in %d\n" % index)
    return app


def table(msi: Path, name: str) -> list[dict[str, str]]:
    """Rows of one table (``msiinfo export``: header, types, table name, then rows)."""
    out = subprocess.run(
        ["msiinfo", "export", str(msi), name], check=True, capture_output=True, text=True
    ).stdout
    lines = out.splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=False)) for line in lines[3:]]


@pytest.fixture(scope="module")
def msis(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("msi")
    app = stand_in(tmp)
    return build_msi(app, tmp / "out", "0.1.0"), build_msi(app, tmp / "out", "0.2.0")


def test_the_msi_installs_every_file_per_machine_under_program_files(
    msis: tuple[Path, Path],
) -> None:
    msi = msis[0]
    tables = subprocess.run(
        ["msiinfo", "tables", str(msi)], check=True, capture_output=True, text=True
    ).stdout.split()
    for name in ("Directory", "Component", "File", "Shortcut", "Upgrade", "Property", "Registry"):
        assert name in tables
    dirs = {r["Directory"]: r for r in table(msi, "Directory")}
    assert dirs["INSTALLDIR"]["Directory_Parent"] == "ProgramFiles64Folder"
    assert dirs["INSTALLDIR"]["DefaultDir"] == "LiteLLM Bridge"
    files = table(msi, "File")
    assert sorted(r["FileName"].split("|")[-1] for r in files) == sorted(
        Path(n).name for n in STAND_IN
    )
    components = table(msi, "Component")
    # 64-bit components (msidbComponentAttributes64bit), each file its own key path.
    assert all(int(r["Attributes"]) & 256 for r in components)
    assert {r["File"] for r in files} <= {r["KeyPath"] for r in components}
    props = {r["Property"]: r["Value"] for r in table(msi, "Property")}
    assert props["ALLUSERS"] == "1"  # per machine
    assert props["UpgradeCode"] == UPGRADE_CODE
    assert props["ProductVersion"] == "0.1.0"
    assert props["ARPNOMODIFY"] == "1"  # the uninstall entry offers removal only


def test_start_menu_shortcut_and_autostart_off_by_default(msis: tuple[Path, Path]) -> None:
    msi = msis[0]
    (shortcut,) = table(msi, "Shortcut")
    assert shortcut["Directory_"] == "ProgramMenuFolder"
    assert shortcut["Target"] == "[INSTALLDIR]litellm-bridge.exe"
    run = [r for r in table(msi, "Registry") if r["Key"].endswith("CurrentVersion\\Run")]
    assert len(run) == 1 and run[0]["Root"] == "2"  # HKLM
    features = {r["Feature"]: r for r in table(msi, "Feature")}
    placed = {r["Component_"]: r["Feature_"] for r in table(msi, "FeatureComponents")}
    assert placed[run[0]["Component_"]] == "Autostart"
    # Above INSTALLLEVEL 1: installed only with ADDLOCAL=...,Autostart.
    assert int(features["Autostart"]["Level"]) > 1 and features["Main"]["Level"] == "1"


def test_a_new_version_replaces_the_old_one(msis: tuple[Path, Path]) -> None:
    _old, new = msis
    props = [{r["Property"]: r["Value"] for r in table(m, "Property")} for m in msis]
    assert props[0]["UpgradeCode"] == props[1]["UpgradeCode"] == UPGRADE_CODE
    assert props[0]["ProductCode"] != props[1]["ProductCode"]
    upgrade = table(new, "Upgrade")
    # MajorUpgrade: older versions of this UpgradeCode are found and removed...
    older = [r for r in upgrade if r["ActionProperty"] == "WIX_UPGRADE_DETECTED"]
    assert older and older[0]["UpgradeCode"] == UPGRADE_CODE and older[0]["VersionMax"] == "0.2.0"
    # ...and a newer one installed already refuses this one.
    assert any(r["ActionProperty"] == "WIX_DOWNGRADE_DETECTED" for r in upgrade)
    sequence = {r["Action"] for r in table(new, "InstallExecuteSequence")}
    assert "RemoveExistingProducts" in sequence


def test_the_linux_app_folder_or_a_bad_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    linux = tmp_path / "linux"
    linux.mkdir()
    (linux / "litellm-bridge").write_bytes(b"\x7fELF")
    result = subprocess.run(
        [sys.executable, "-m", "installer.msi", "--app", str(linux), "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "holds no litellm-bridge.exe" in result.stderr and "on Windows" in result.stderr
    app = stand_in(tmp_path)
    from installer.msi import MsiError

    with pytest.raises(MsiError, match="not an MSI version"):
        build_msi(app, tmp_path / "out", "1.2.3.4.5")
