"""The Windows installer: NSIS around the signed app folder made by ``installer.build``.

    python -m installer.windows_installer     # after: python -m installer.build bundle

Writes ``dist/litellm-bridge-VERSION-setup.exe``; Authenticode-signs it when
``LITELLM_BRIDGE_CODESIGN_CMD`` is set (see docs/PACKAGING.md).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from installer.build import APP_NAME, BUILD, DIST, ROOT, codesign
from installer.deb import project_version
from installer.icon import icon_ico


def makensis() -> str:
    found = shutil.which("makensis")
    if found:
        return found
    default = Path(r"C:\Program Files (x86)\NSIS\makensis.exe")
    if default.is_file():
        return str(default)
    raise SystemExit("makensis not found: install NSIS 3 (choco install nsis / apt install nsis)")


def build_installer(app: Path, out_dir: Path) -> Path:
    version = project_version()
    icon = icon_ico(BUILD / f"{APP_NAME}.ico", ROOT / "icons")
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{APP_NAME}-{version}-setup.exe"
    subprocess.run(
        [
            makensis(),
            "-V2",
            f"-DVERSION={version}",
            f"-DAPPDIR={app}",
            f"-DICON={icon}",
            f"-DOUTFILE={out}",
            str(ROOT / "installer" / "windows" / "litellm-bridge.nsi"),
        ],
        check=True,
    )
    codesign([out])
    return out


def main() -> int:
    app = BUILD / "app" / APP_NAME
    if not (app / "manifest.json.sig").is_file():
        print(
            f"no signed app folder at {app}: run `python -m installer.build bundle`",
            file=sys.stderr,
        )
        return 1
    print(f"installer: {build_installer(app, DIST)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
