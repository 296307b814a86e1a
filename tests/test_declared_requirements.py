"""Every third-party package the agent and the sidecar import is declared in their own
requirements, not only pulled in by another package (which may drop it in any release)."""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

from installer.imports import imported_modules

ROOT = Path(__file__).resolve().parents[1]


def declared(*files: Path) -> set[str]:
    """Normalized distribution names listed in requirement files (following ``-r``)."""
    names: set[str] = set()
    for file in files:
        for raw in file.read_text().splitlines():
            line = raw.split("#", 1)[0].strip()
            if line.startswith("-r"):
                names |= declared((file.parent / line[2:].strip()).resolve())
            elif line:
                name = re.split(r"[\s\[<>=!~;]", line, maxsplit=1)[0]
                names.add(normalize(name))
    return names


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions_imported(package: str) -> dict[str, set[str]]:
    """Distribution name -> the top-level modules of ``package``'s imports it provides."""
    by_module = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for module in imported_modules(ROOT / package):
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in ("tray_agent", "sidecar"):
            continue
        for dist in by_module.get(top, []):
            found.setdefault(normalize(dist), set()).add(top)
    return found


@pytest.mark.parametrize(
    ("package", "requirements"),
    [("tray_agent", "requirements/app.in"), ("sidecar", "sidecar/requirements.in")],
)
def test_every_imported_package_is_declared(package: str, requirements: str) -> None:
    imported = distributions_imported(package)
    assert imported, "the scan found no third-party imports at all"
    missing = {d: m for d, m in imported.items() if d not in declared(ROOT / requirements)}
    assert not missing, f"{package} imports packages {requirements} does not declare: {missing}"


def test_a_package_missing_from_the_requirements_is_noticed(tmp_path: Path) -> None:
    reqs = tmp_path / "app.in"
    reqs.write_text("httpx>=0.27  # a comment\n")
    assert "ruamel-yaml" in distributions_imported("tray_agent")
    assert "ruamel-yaml" not in declared(reqs) and "httpx" in declared(reqs)
