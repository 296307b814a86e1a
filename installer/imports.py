"""Which modules a source package imports (from its code, without running it)."""

from __future__ import annotations

import ast
from pathlib import Path


def imported_modules(package_dir: Path) -> list[str]:
    """Every absolute import in ``package_dir/**/*.py`` outside the package itself, sorted."""
    own = package_dir.name
    found: set[str] = set()
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return sorted(
        m for m in found if m != own and not m.startswith(own + ".") and m != "__future__"
    )


def importable_here(modules: list[str]) -> list[str]:
    """The modules whose top-level package exists for this platform (no ``winreg`` on Linux)."""
    import importlib.util

    found = []
    for name in modules:
        try:
            if importlib.util.find_spec(name.split(".")[0]) is not None:
                found.append(name)
        except (ImportError, ValueError):
            continue
    return found
