"""Placeholders for modules the frozen sidecar leaves out (``installer/sidecar.spec``).

LiteLLM's proxy imports ``soundfile`` -- and through it numpy, 45 MB with its BLAS library --
as it starts, only to log audio pass-through calls: routes the bridge never serves
(``sidecar/allowlist.py``). The frozen build leaves both out and puts a placeholder in
``soundfile``'s place, so the import works and any use says why the module is not there.
From source the real module is imported and nothing changes.
"""

from __future__ import annotations

import importlib
import sys
import types

LEFT_OUT = ("soundfile",)


class LeftOut(types.ModuleType):
    """Importing works; using any attribute raises ``ModuleNotFoundError`` with the reason."""

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ModuleNotFoundError(
            f"{self.__name__}.{name}: {self.__name__} is not bundled with LiteLLM Bridge's "
            "sidecar (audio routes are not served)",
            name=self.__name__,
        )


def stand_in(names: tuple[str, ...] = LEFT_OUT) -> list[str]:
    """Put a placeholder in place of each module of ``names`` that cannot be imported; the
    names that got one."""
    placed = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = LeftOut(name)
            placed.append(name)
    return placed
