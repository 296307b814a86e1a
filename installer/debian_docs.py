"""The package's documentation files: changelog, manual page, lintian overrides.

Everything is made from the version, the maintainer and ``SOURCE_DATE_EPOCH`` (the commit
time): two builds of one commit write the same bytes (gzip without a name or a time).
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "litellm-bridge"
OVERRIDES = ROOT / "installer" / "linux" / f"{PACKAGE}.lintian-overrides"


def source_date_epoch() -> int:
    """``SOURCE_DATE_EPOCH`` if set, else the time of the checked-out commit, else 0.

    0 (1970) only when there is no git checkout and no variable: still reproducible.
    """
    configured = os.environ.get("SOURCE_DATE_EPOCH")
    if configured:
        return int(configured)
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "log", "-1", "--format=%ct"],
            check=True,
            capture_output=True,
            text=True,
        )
        return int(out.stdout.strip())
    except (OSError, subprocess.CalledProcessError, ValueError):
        return 0


def gzip_bytes(data: bytes) -> bytes:
    """``gzip -9n``: no file name, no time in the header."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def changelog(version: str, maintainer: str, epoch: int) -> str:
    """A Debian changelog with the one entry of this build (native package: no revision)."""
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(epoch))
    return (
        f"{PACKAGE} ({version}) stable; urgency=medium\n"
        "\n"
        f"  * Release {version}; what changed is in the project's release notes.\n"
        "\n"
        f" -- {maintainer}  {date}\n"
    )


def manpage(version: str, epoch: int) -> str:
    """``litellm-bridge(1)`` from the CLI's own argparse parser (every command)."""
    from argparse_manpage.manpage import Manpage

    from tray_agent.cli import build_parser

    parser = build_parser()
    page = Manpage(
        parser,
        _data={
            "project_name": PACKAGE,
            "version": version,
            "date": time.strftime("%Y-%m-%d", time.gmtime(epoch)),
            "manual_title": "LiteLLM Bridge",
            "manual_section": 1,
            "description": parser.description,
        },
        format="single-commands-section",
    )
    return str(page)


def write_docs(staging: Path, version: str, maintainer: str, copyright_text: str) -> None:
    """``/usr/share/doc/PKG/{copyright,changelog.gz}``, the man page, the lintian overrides."""
    epoch = source_date_epoch()
    doc = staging / "usr" / "share" / "doc" / PACKAGE
    doc.mkdir(parents=True, exist_ok=True)
    (doc / "copyright").write_text(copyright_text)
    (doc / "changelog.gz").write_bytes(gzip_bytes(changelog(version, maintainer, epoch).encode()))
    man = staging / "usr" / "share" / "man" / "man1"
    man.mkdir(parents=True, exist_ok=True)
    (man / f"{PACKAGE}.1.gz").write_bytes(gzip_bytes(manpage(version, epoch).encode()))
    overrides = staging / "usr" / "share" / "lintian" / "overrides"
    overrides.mkdir(parents=True, exist_ok=True)
    (overrides / PACKAGE).write_bytes(OVERRIDES.read_bytes())
