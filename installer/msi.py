"""The per-machine Windows MSI: ``installer/windows/litellm-bridge.wxs`` around the app folder.

    python -m installer.msi [--app FOLDER] [--out DIR] [--version V]

Built with ``wixl`` (Debian's ``msitools``: ``apt install wixl msitools``) on any OS, over the
signed Windows app folder made by ``python -m installer.build bundle`` on Windows
(``build/package/app/litellm-bridge`` with ``litellm-bridge.exe``). ``wixl-heat`` lists the
folder's files into a fragment (each file its own component, key path the file), so the MSI
holds exactly the files the manifest covers. Writes ``DIR/litellm-bridge-V-x64.msi`` and
Authenticode-signs it when ``LITELLM_BRIDGE_CODESIGN_CMD`` is set (docs/PACKAGING.md).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from installer.build import BUILD, DIST, ROOT, codesign
from installer.deb import project_version

APP_NAME = "litellm-bridge"
WXS = ROOT / "installer" / "windows" / "litellm-bridge.wxs"
EXE = f"{APP_NAME}.exe"


class MsiError(Exception):
    """The MSI cannot be built (what is missing and what to do)."""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise MsiError(f"{name} not found: install it (apt install wixl msitools)")
    return found


def msi_version(version: str) -> str:
    """An MSI ProductVersion: at most three numeric fields (the fourth is ignored by upgrades)."""
    parts = version.split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() and int(p) < 65536 for p in parts):
        raise MsiError(
            f"version {version!r} is not an MSI version (up to three numbers, e.g. 1.4.2): "
            "set one in pyproject.toml or pass --version"
        )
    return version


def files_fragment(app: Path, out: Path) -> Path:
    """The fragment listing every file of ``app`` (component group ``AppFiles``)."""
    files = sorted(p.relative_to(app).as_posix() for p in app.rglob("*") if p.is_file())
    listing = "".join(f"{app.as_posix()}/{name}\n" for name in files)
    fragment = subprocess.run(
        [
            _tool("wixl-heat"),
            "--prefix",
            f"{app.as_posix()}/",
            "--directory-ref",
            "INSTALLDIR",
            "--component-group",
            "AppFiles",
            "--var",
            "var.AppDir",
            "--win64",
        ],
        input=listing,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    out.write_text(fragment, encoding="utf-8")
    return out


def build_msi(app: Path, out_dir: Path, version: str) -> Path:
    if not (app / EXE).is_file():
        raise MsiError(
            f"{app} holds no {EXE}: the MSI wraps the Windows app folder "
            "(`python -m installer.build bundle` on Windows), not the Linux one"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{APP_NAME}-{version}-x64.msi"
    with tempfile.TemporaryDirectory(prefix="msi-") as tmp:
        fragment = files_fragment(app, Path(tmp) / "app-files.wxs")
        result = subprocess.run(
            [
                _tool("wixl"),
                "--arch",
                "x64",
                "-D",
                "Win64=yes",
                "-D",
                f"Version={msi_version(version)}",
                "-D",
                # wixl resolves sources from its working directory and refuses absolute ones.
                f"AppDir={app.name}",
                str(WXS),
                str(fragment),
                "-o",
                str(out.absolute()),
            ],
            cwd=app.parent,
            capture_output=True,
            text=True,
        )
    # wixl can exit 0 without writing the file when a table insert fails.
    if result.returncode != 0 or not out.is_file():
        raise MsiError(f"wixl failed for {WXS}:\n{result.stderr[-3000:]}")
    codesign([out])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m installer.msi", description=__doc__)
    parser.add_argument("--app", type=Path, default=BUILD / "app" / APP_NAME)
    parser.add_argument("--out", type=Path, default=DIST)
    parser.add_argument("--version", default=None)
    args = parser.parse_args(argv)
    try:
        out = build_msi(args.app.absolute(), args.out, args.version or project_version())
    except MsiError as exc:
        print(f"msi: {exc}", file=sys.stderr)
        return 1
    print(f"msi: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
