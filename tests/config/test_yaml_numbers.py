"""Integer scalars are bounded: base-60 forms cost quadratic time, huge ones cannot be written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tray_agent.config import yamlload

HEAD = (
    "model_list:\n  - model_name: x\n"
    "    litellm_params: {model: openai/x, mock_response: hi}\n    model_info:\n"
)


@pytest.mark.parametrize(
    "value",
    ["1" + ":59" * 690_000, "0x" + "f" * 10_000, "9" * 5_000],
    ids=["sexagesimal-2MB", "hex-10k", "decimal-5k"],
)
def test_a_huge_integer_is_refused_at_its_position(tmp_path: Path, value: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(HEAD + f"      big: {value}\n")
    result = subprocess.run(
        [sys.executable, "-m", "tray_agent", "config", "validate", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout
    assert f"{config}:5:12:" in result.stdout + result.stderr
    assert "an integer of" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_ordinary_integers_still_load() -> None:
    data = yamlload.load("a: 12345\nb: 0x1f\nc: 1_000\nd: '1:59:59'\ne: " + "9" * 100 + "\n")
    assert data == {"a": 12345, "b": 31, "c": 1000, "d": "1:59:59", "e": int("9" * 100)}


def test_the_limit_is_the_loaders_not_a_special_case() -> None:
    with pytest.raises(yaml.YAMLError, match="an integer of 101 characters"):
        yamlload.load("e: " + "9" * 101 + "\n")
