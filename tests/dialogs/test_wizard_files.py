"""The wizard's reads and writes, without a display: what each step leaves on disk."""

from __future__ import annotations

import stat

import pytest
import yaml

from tray_agent.account import Account
from tray_agent.config.backup import ConfigWriteError, backup_path
from tray_agent.config.templates import Template, list_templates
from tray_agent.dialogs import wizard_files
from tray_agent.envstore import EnvStore, NewValue
from tray_agent.paths import Paths
from tray_agent.secrets import MemoryStore


def template(name: str) -> Template:
    return next(t for t in list_templates() if t.name == name)


def test_account_is_created_in_a_fresh_home(paths: Paths) -> None:
    paths.account_file.unlink(missing_ok=True)
    wizard_files.create_account(paths, "correct horse battery staple")
    assert Account(paths.account_file).exists()


def test_config_is_written_from_the_template_on_the_chosen_port(paths: Paths) -> None:
    assert wizard_files.write_config_from_template(paths, template("demo"), 4123) is None
    data = yaml.safe_load(paths.config_file.read_text())
    assert data["bridge"]["port"] == 4123
    assert stat.S_IMODE(paths.config_file.stat().st_mode) == 0o600
    assert wizard_files.config_data(paths)["bridge"]["port"] == 4123


def test_replacing_a_config_keeps_a_backup_of_the_old_one(paths: Paths) -> None:
    paths.config_file.write_text("# mine\nbridge: {port: 4999}\n")
    backup = wizard_files.write_config_from_template(paths, template("demo"), 4123)
    assert backup is not None and backup.read_text() == "# mine\nbridge: {port: 4999}\n"
    assert backup.name.startswith("config.yaml.bak-")
    assert yaml.safe_load(paths.config_file.read_text())["bridge"]["port"] == 4123


def test_backup_names_never_collide(paths: Paths) -> None:
    paths.config_file.write_text("a: 1\n")
    first = backup_path(paths.config_file)
    first.write_text("taken")
    assert backup_path(paths.config_file) != first


def test_a_config_that_cannot_be_locked_is_left_alone(paths: Paths) -> None:
    paths.config_file.write_text("a: 1\n")
    (paths.config_file.parent / f".{paths.config_file.name}.lock").mkdir()  # not a lock file
    with pytest.raises(ConfigWriteError, match="cannot lock"):
        wizard_files.write_config_from_template(paths, template("demo"), 4123)
    assert paths.config_file.read_text() == "a: 1\n"
    assert not list(paths.config_file.parent.glob("config.yaml.bak-*"))


def test_missing_env_names_shrink_as_values_are_saved(paths: Paths) -> None:
    wizard_files.write_config_from_template(paths, template("openai-compatible"), 4123)
    assert wizard_files.missing_env_names(paths) == ["CORP_LLM_KEY", "CORP_PROJECT"]
    store = MemoryStore()
    store.persistent = True
    wizard_files.save_env_values(
        paths,
        store,
        [NewValue("CORP_LLM_KEY", "s3cret", True), NewValue("CORP_PROJECT", "p", False)],
    )
    assert wizard_files.missing_env_names(paths) == []
    env = EnvStore(paths.env_file, store)
    assert "s3cret" not in paths.env_file.read_text()
    assert env.enabled_names() >= {"CORP_LLM_KEY", "CORP_PROJECT"}


def test_sign_in_is_needed_only_with_iam(paths: Paths) -> None:
    wizard_files.write_config_from_template(paths, template("demo"), 4123)
    assert not wizard_files.needs_sign_in(paths)
    wizard_files.write_config_from_template(paths, template("openai-compatible"), 4123)
    assert wizard_files.needs_sign_in(paths)


def test_unreadable_or_odd_config_reads_as_empty(paths: Paths) -> None:
    assert wizard_files.config_data(paths) == {}
    paths.config_file.write_text("- a list\n")
    assert wizard_files.config_data(paths) == {}
    assert not wizard_files.needs_sign_in(paths)
