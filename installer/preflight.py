"""Refuse to freeze an environment that is not what we mean to ship.

Two checks, both run before PyInstaller analyses anything:

* no ``*.pth`` file in the environment's site-packages except the few that plain installs
  create: a ``.pth`` line runs code at every interpreter start, which is how a compromised
  LiteLLM release persisted itself;
* the installed LiteLLM is not on the deny list (compromised or known-broken releases).

Run as ``python installer/preflight.py``; exits 1 with one line per problem.
"""

from __future__ import annotations

import fnmatch
import site
import sys
import sysconfig
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

# Files created by pip/setuptools/uv themselves: an editable install of this project and
# setuptools' distutils shim. Anything else is unexpected.
ALLOWED_PTH = (
    "distutils-precedence.pth",
    "__editable__.litellm_bridge-*.pth",
    "_virtualenv.pth",
)

# 1.82.7 and 1.82.8 were compromised on the registry; 1.107.x breaks the proxy extra.
DENIED_LITELLM = ("1.82.7", "1.82.8", "1.107.*")


class PreflightError(Exception):
    """The environment must not be frozen; the message lists every problem."""


def site_dirs() -> list[Path]:
    """The site-packages directories the running interpreter processes ``.pth`` files in."""
    dirs = {Path(p) for p in site.getsitepackages()}
    for key in ("purelib", "platlib"):
        dirs.add(Path(sysconfig.get_paths()[key]))
    if site.ENABLE_USER_SITE:
        dirs.add(Path(site.getusersitepackages()))
    return sorted(d for d in dirs if d.is_dir())


def unexpected_pth(dirs: Iterable[Path], allowed: Iterable[str] = ALLOWED_PTH) -> list[Path]:
    """Every ``*.pth`` file in ``dirs`` whose name matches no allowed pattern."""
    patterns = tuple(allowed)
    found: list[Path] = []
    for directory in dirs:
        for path in sorted(directory.glob("*.pth")):
            if not any(fnmatch.fnmatchcase(path.name, p) for p in patterns):
                found.append(path)
    return found


def denied_version(version: str, denied: Iterable[str] = DENIED_LITELLM) -> str | None:
    """The deny-list entry ``version`` matches, or None."""
    for pattern in denied:
        if fnmatch.fnmatchcase(version, pattern):
            return pattern
    return None


def problems(dirs: Iterable[Path] | None = None, litellm_version: str | None = None) -> list[str]:
    """What is wrong with the environment; empty when it may be frozen."""
    found: list[str] = []
    for path in unexpected_pth(site_dirs() if dirs is None else dirs):
        found.append(
            f"unexpected {path}: .pth files run code at every start; remove it or add its "
            "name to ALLOWED_PTH in installer/preflight.py if it is known to be harmless"
        )
    if litellm_version is None:
        try:
            litellm_version = metadata.version("litellm")
        except metadata.PackageNotFoundError:
            found.append("litellm is not installed in this environment")
    if litellm_version is not None:
        pattern = denied_version(litellm_version)
        if pattern is not None:
            found.append(
                f"litellm {litellm_version} is on the deny list ({pattern}): install the "
                "version pinned in sidecar/requirements.lock"
            )
    return found


def check() -> None:
    """Raise PreflightError when the running environment must not be frozen."""
    found = problems()
    if found:
        raise PreflightError("\n".join(found))


def main() -> int:
    try:
        check()
    except PreflightError as exc:
        for line in str(exc).splitlines():
            print(f"preflight: {line}", file=sys.stderr)
        return 1
    print(f"preflight: ok ({sys.prefix})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
