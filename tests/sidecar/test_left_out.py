"""The placeholder for modules the frozen sidecar leaves out (``sidecar/left_out.py``)."""

from __future__ import annotations

import importlib
import sys

import pytest

from sidecar.left_out import LeftOut, stand_in


def test_a_missing_module_imports_as_a_placeholder_that_says_why_on_use() -> None:
    name = "litellm_bridge_no_such_module"
    try:
        assert stand_in((name, "json")) == [name]  # json is there: left alone
        module = importlib.import_module(name)
        assert isinstance(module, LeftOut)
        assert not hasattr(module, "__path__")  # importlib's probes see a plain module
        with pytest.raises(ModuleNotFoundError, match=r"not bundled.*audio routes"):
            module.read  # noqa: B018
        assert not isinstance(sys.modules["json"], LeftOut)
    finally:
        sys.modules.pop(name, None)
