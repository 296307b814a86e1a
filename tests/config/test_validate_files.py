"""config.yaml that is not a config: symlinks to other files, devices, FIFOs, huge files."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.config.cliutil import validate_child

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "PlantedHash9f3kQz"
# Shaped like a password database (each line ends with ':', so it even parses as a mapping),
# and files that do not parse, where the parser's message would quote what it found.
SHADOW = f"root:$6${PLANTED}$abcdef:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n"
TAGGED = f"key: !!{PLANTED}Tag x\n"
ALIASED = f"key: *{PLANTED}\n"


def validate(home: Path, target: Path | None = None) -> subprocess.CompletedProcess[str]:
    return validate_child(home, target)


def link_config(home: Path, target: str | Path) -> Path:
    config = home / "config" / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.symlink_to(target)
    return config


@pytest.mark.parametrize("content", [SHADOW, TAGGED, ALIASED], ids=["shadow", "tag", "alias"])
def test_validate_of_a_symlink_to_a_foreign_file_never_echoes_it(
    tmp_path: Path, content: str
) -> None:
    foreign = tmp_path / "foreign"
    foreign.write_text(content)
    config = link_config(tmp_path / "home", foreign)
    r = validate(tmp_path / "home")
    assert r.returncode == 1
    assert r.stdout.startswith(f"{config}:1:")  # still located, so the user can look
    assert PLANTED not in r.stdout + r.stderr
    assert "$6$" not in r.stdout + r.stderr


@pytest.mark.parametrize("kind", ["dev-zero", "50MB", "fifo", "directory"])
def test_non_files_and_huge_files_give_a_clear_error_quickly(tmp_path: Path, kind: str) -> None:
    home = tmp_path / "home"
    if kind == "dev-zero":
        config = link_config(home, "/dev/zero")
        words = "not a regular file"
    elif kind == "50MB":
        big = tmp_path / "big.yaml"
        with big.open("wb") as fh:
            fh.write(b"model_list: []\n# " + b"x" * (50 * 1024 * 1024) + b"\n")
        config = link_config(home, big)
        words = "larger than the 2,097,152-byte limit"
    elif kind == "fifo":
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        config = link_config(home, fifo)
        words = "not a regular file"
    else:
        (tmp_path / "dir").mkdir()
        config = link_config(home, tmp_path / "dir")
        words = "directory"
    started = time.monotonic()
    r = validate(home)
    assert time.monotonic() - started < 20
    assert r.returncode == 1
    assert r.stdout.startswith(f"{config}:1:1: error: ")
    assert words in r.stdout
    assert "MemoryError" not in r.stderr and "Traceback" not in r.stderr


def test_a_symlink_to_a_real_config_is_followed(tmp_path: Path) -> None:
    # Dotfile managers link config.yaml into a repository: that must keep working.
    real = tmp_path / "dotfiles" / "litellm.yaml"
    real.parent.mkdir()
    real.write_text("model_list:\n  - model_name: a\n    litellm_params: {model: openai/a}\n")
    link_config(tmp_path / "home", real)
    r = validate(tmp_path / "home")
    assert r.returncode == 0, r.stdout + r.stderr
