"""Which modules a source package imports (from its code, without running it)."""

from __future__ import annotations

import ast
from pathlib import Path


def imported_modules(package_dir: Path) -> list[str]:
    """Every absolute import in ``package_dir/**/*.py`` outside the package itself, sorted.

    ``from X import Y`` names ``X.Y`` too when ``Y`` is a submodule of ``X`` (``from tkinter
    import font``): importing ``X`` need not import it, so a build given only ``X`` would
    leave it out.
    """
    own = package_dir.name
    found: set[str] = set()
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
                module = node.module
                found.update(
                    f"{module}.{alias.name}"
                    for alias in node.names
                    if _submodule(module, alias.name)
                )
    return sorted(
        m for m in found if m != own and not m.startswith(own + ".") and m != "__future__"
    )


def _submodule(package: str, name: str) -> bool:
    """Whether ``package.name`` is a module file or package here, found without importing
    ``package`` (only the top-level spec is looked up; nothing is executed)."""
    import importlib.util

    top, *rest = package.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    dirs = [Path(p) for p in spec.submodule_search_locations]
    for part in rest:
        dirs = [d / part for d in dirs if (d / part).is_dir()]
    return any(
        (d / name / "__init__.py").is_file()
        or (d / f"{name}.py").is_file()
        or any(d.glob(f"{name}.*.so"))
        or any(d.glob(f"{name}.*.pyd"))
        for d in dirs
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
