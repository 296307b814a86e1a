from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.config.cliutil import run
from tests.helpers.parallel import Job, run_parallel
from tests.helpers.privileges import as_nobody
from tray_agent.paths import get_paths


def config_file() -> Path:
    return get_paths().config_file


def test_init_writes_the_template_with_its_comments(home: Path) -> None:
    result = run("init", "--template", "demo", "--non-interactive")
    assert result.code == 0, result.err
    text = config_file().read_text()
    assert text.startswith("# description:")
    assert yaml.safe_load(text)["bridge"]["port"] == 4000


def test_init_port_sets_bridge_port(home: Path) -> None:
    assert (
        run("init", "--template", "openai-compatible", "--port", "4321", "--non-interactive").code
        == 0
    )
    data = yaml.safe_load(config_file().read_text())
    assert data["bridge"]["port"] == 4321
    assert data["bridge"]["iam"]["kind"] == "json"


def test_init_lists_the_env_entries_to_add(home: Path) -> None:
    result = run("init", "--template", "openai-compatible", "--non-interactive")
    assert "litellm-bridge env set CORP_LLM_KEY --secret   # then type or pipe" in result.out
    assert "litellm-bridge env set CORP_PROJECT VALUE" in result.out


def test_init_refuses_to_overwrite(home: Path) -> None:
    assert run("init", "--template", "demo", "--non-interactive").code == 0
    config_file().write_text("# mine\n")
    result = run("init", "--template", "multi-model", "--non-interactive")
    assert result.code == 1
    assert "already exists" in result.err and "--force" in result.err
    assert config_file().read_text() == "# mine\n"


def test_init_force_keeps_a_timestamped_backup(home: Path) -> None:
    assert run("init", "--template", "demo", "--non-interactive").code == 0
    config_file().write_text("# mine\n")
    result = run("init", "--template", "multi-model", "--non-interactive", "--force")
    assert result.code == 0, result.err
    backups = sorted(config_file().parent.glob("config.yaml.bak-*"))
    assert len(backups) == 1
    assert backups[0].read_text() == "# mine\n"
    assert str(backups[0]) in result.out
    assert "corp-coder" in config_file().read_text()
    # A second --force in the same second must not clobber the first backup.
    assert run("init", "--template", "demo", "--non-interactive", "--force").code == 0
    assert len(list(config_file().parent.glob("config.yaml.bak-*"))) == 2


def test_unknown_template_exits_2_and_lists_known(home: Path) -> None:
    result = run("init", "--template", "no-such", "--non-interactive")
    assert result.code == 2
    assert "unknown template 'no-such'" in result.err
    for name in ("demo", "openai-compatible", "multi-model"):
        assert name in result.err
    assert not config_file().exists()


@pytest.mark.parametrize("port", ["80", "1023", "65536", "0", "-1"])
def test_port_out_of_range_writes_nothing(home: Path, port: str) -> None:
    result = run("init", "--template", "demo", "--port", port, "--non-interactive")
    assert result.code == 2
    assert "out of range" in result.err and "1024..65535" in result.err
    assert not config_file().exists()


def test_unwritable_home_names_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(blocker / "home"))
    result = run("init", "--template", "demo", "--non-interactive")
    assert result.code == 1
    assert "cannot use the directory" in result.err
    assert str(blocker) in result.err


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_read_only_home_names_the_directory(home: Path) -> None:
    if os.geteuid() == 0:
        # Root ignores permissions: run the real command as root without the capabilities
        # that bypass them (CI runs as root, so this is the branch CI takes).
        shared = Path(tempfile.mkdtemp(prefix="ro-home-"))
        try:
            shared.chmod(0o755)
            root_home = shared / "home"
            root_home.mkdir()
            root_home.chmod(0o555)  # read-only even for its owner once DAC override is gone
            done = as_nobody(
                [sys.executable, "-m", "tray_agent", *INIT_DEMO],
                {**os.environ, "LITELLM_BRIDGE_HOME": str(root_home)},
            )
            assert "No module named" not in done.stderr, (
                f"the unprivileged user cannot read the checkout: {done.stderr}"
            )
            assert done.returncode == 1, done.stdout + done.stderr
            assert str(root_home) in done.stderr and "Permission denied" in done.stderr
            assert list(root_home.iterdir()) == [], "something was written"
        finally:
            root_home.chmod(0o755)
            shutil.rmtree(shared)
        return
    home.chmod(0o500)
    try:
        result = run("init", "--template", "demo", "--non-interactive")
    finally:
        home.chmod(0o700)
    assert result.code == 1
    assert str(home) in result.err


NOBODY = 65534
INIT_DEMO = ("init", "--template", "demo", "--non-interactive")


def test_template_file_with_errors_is_refused(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list:\n  - model_name: x\n    litellm_parms: {}\n")
    result = run("init", "--template", str(bad), "--non-interactive")
    assert result.code == 2
    assert f"{bad}:3:5" in result.err
    assert not config_file().exists()


def test_missing_template_without_prompt_is_a_usage_error(home: Path) -> None:
    result = run("init", "--non-interactive")
    assert result.code == 2
    assert "--template" in result.err


def test_parallel_init_force_keeps_every_replaced_config(home: Path) -> None:
    """Each replaced file is in exactly one backup: parallel writers queue on the lock."""
    assert run("init", "--template", "demo", "--port", "5000", "--non-interactive").code == 0
    ports = range(5001, 5017)
    jobs: list[Job] = [
        (["init", "--template", "demo", "--port", str(p), "--non-interactive", "--force"], None)
        for p in ports
    ]
    for result in run_parallel(home, jobs):
        assert result.returncode == 0, result.stderr
    backups = sorted(config_file().parent.glob("config.yaml.bak-*"))
    seen = [yaml.safe_load(b.read_text())["bridge"]["port"] for b in backups]
    seen.append(yaml.safe_load(config_file().read_text())["bridge"]["port"])
    assert sorted(seen) == [5000, *ports]
