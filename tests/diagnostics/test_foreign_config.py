"""A config.yaml that is not a YAML mapping (a symlink to another file, a device, a bomb)
is left out of the diagnostics zip, with a note saying why."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tray_agent.diagnostics import build_zip
from tray_agent.paths import Paths
from tray_agent.secrets import MemoryStore

PLANTED = "PlantedShadowHash77q"
FOREIGN = {
    "not-yaml": (f"user {PLANTED}\n  : [\n", "not valid YAML"),
    "scalar": (f"root:$6${PLANTED}\nline two {PLANTED}\n", "not a YAML mapping"),
    "tagged": (f"key: !!{PLANTED} x\n", "not valid YAML"),
    # Each line ends with ':', so a password file parses as a mapping of its lines.
    "shadow": (f"root:$6${PLANTED}:20228:0:99999:7:::\n", "no LiteLLM config key in it"),
}


def zipped_config(paths: Paths) -> str:
    data = build_zip(paths, secrets=MemoryStore(), include_doctor=True)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        everything = "".join(zf.read(n).decode(errors="replace") for n in zf.namelist())
        assert PLANTED not in everything
        return zf.read("config/config.yaml").decode()


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_a_symlink_to_a_foreign_file_is_not_copied_into_the_zip(
    paths: Paths, tmp_path: Path, kind: str
) -> None:
    content, why = FOREIGN[kind]
    foreign = tmp_path / "foreign"
    foreign.write_text(content)
    paths.config_file.symlink_to(foreign)
    note = zipped_config(paths)
    assert note == f"# config.yaml not included: {why} ({len(content.encode())} bytes)\n"


def test_a_config_linked_to_dev_zero_gives_a_note_not_memory_error(paths: Paths) -> None:
    paths.config_file.symlink_to("/dev/zero")
    note = zipped_config(paths)
    assert note.startswith("# config.yaml not included: config.yaml is not a regular file")


def test_a_valid_config_is_still_included_redacted(paths: Paths) -> None:
    paths.config_file.write_text(
        "model_list:\n  - model_name: m\n    litellm_params: "
        f"{{model: openai/m, api_key: {PLANTED}}}\n"
    )
    text = zipped_config(paths)
    assert "model_name: m" in text and "[REDACTED]" in text
