"""Writes on a really full file system (a small tmpfs), and temps left by dead writers.

The tmpfs needs root (mount); without it those tests skip. The keyring tests need the real
Secret Service keyring (scripts/with-desktop.sh).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agentproc import cli, env_for
from tests.helpers.keyring import require_keyring
from tests.helpers.parallel import keyring_names
from tests.helpers.smallfs import small_fs as mount_small_fs
from tray_agent.envstore import EnvStore, secret_key
from tray_agent.fsutil import STALE_TEMP_AGE
from tray_agent.paths import Paths, get_paths
from tray_agent.secrets import SecretStore, open_secret_store

NO_SPACE = "no space left on the device; free some space on the disk holding"


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, unmounted afterwards; skips where mounting is not permitted."""
    with mount_small_fs(tmp_path / "fs") as fs:
        yield fs


@pytest.fixture
def full_home(small_fs: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """A home on the small file system (filled by the test when it is ready)."""
    monkeypatch.setenv("LITELLM_BRIDGE_HOME", str(small_fs / "home"))
    paths = get_paths()
    paths.ensure()
    return paths


def fill(where: Path) -> None:
    """Take every free byte of the file system holding ``where``."""
    with open(where / "filler", "wb", buffering=0) as fh:  # unbuffered: nothing left to flush
        for size in (1 << 16, 4096, 1):
            try:
                while True:
                    fh.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    with pytest.raises(OSError):  # nothing left for a new file's first page
        (where / "probe").write_bytes(b"x")


def home_of(paths: Paths) -> Path:
    return paths.config_dir.parent


def stray_temps(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def assert_clear_error(result: subprocess.CompletedProcess[str], file: Path) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(f"error: cannot write {file}: {NO_SPACE} {file.parent}")
    assert "then try again" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def secrets(full_home: Paths) -> SecretStore:
    return require_keyring(open_secret_store(full_home.keyring_namespace))


def test_env_set_on_a_full_disk_names_the_file_and_keeps_the_last_good_one(
    full_home: Paths,
) -> None:
    home = home_of(full_home)
    assert cli(home, "env", "set", "CORP_PROJECT", "p-1").returncode == 0
    good = full_home.env_file.read_bytes()
    fill(home)
    result = cli(home, "env", "set", "OTHER", "x")
    assert_clear_error(result, full_home.env_file)
    assert full_home.env_file.read_bytes() == good
    assert stray_temps(full_home.env_file.parent) == []
    (home / "filler").unlink()
    assert cli(home, "env", "set", "OTHER", "x").returncode == 0, "works again once freed"


def test_secret_on_a_full_disk_leaves_no_orphan_and_keeps_the_old_value(
    full_home: Paths, secrets: SecretStore
) -> None:
    home = home_of(full_home)
    r = cli(home, "env", "set", "OLD_KEY", "--secret", stdin="old-value\n")
    assert r.returncode == 0, r.stderr
    fill(home)
    assert_clear_error(
        cli(home, "env", "set", "NEW_KEY", "--secret", stdin="new-value\n"), full_home.env_file
    )
    assert_clear_error(
        cli(home, "env", "set", "OLD_KEY", "--secret", stdin="changed\n"), full_home.env_file
    )
    assert keyring_names(full_home) == {secret_key("OLD_KEY")}, "no orphan, no probe item"
    assert secrets.get(secret_key("OLD_KEY")) == "old-value", "the failed change rolled back"


def test_import_on_a_full_disk_rolls_back_every_secret(
    full_home: Paths, secrets: SecretStore, tmp_path: Path
) -> None:
    store = EnvStore(full_home.env_file, secrets)
    store.set("A_KEY", "a-old", secret=True)
    dotenv = tmp_path / "team.env"  # on the roomy disk
    dotenv.write_text("A_KEY=a-new\nB_KEY=b\nC_TOKEN=c\nPLAIN=p\n")
    fill(home_of(full_home))
    result = cli(home_of(full_home), "env", "import", str(dotenv))
    assert_clear_error(result, full_home.env_file)
    assert "nothing was changed" in result.stderr
    assert keyring_names(full_home) == {secret_key("A_KEY")}
    assert secrets.get(secret_key("A_KEY")) == "a-old"
    assert store.enabled_names() == {"A_KEY"}


def test_init_force_on_a_full_disk_keeps_the_config(full_home: Paths) -> None:
    home = home_of(full_home)
    assert cli(home, "init", "--template", "demo", "--non-interactive").returncode == 0
    good = full_home.config_file.read_bytes()
    fill(home)
    result = cli(home, "init", "--template", "multi-model", "--non-interactive", "--force")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: cannot write {full_home.config_file}.bak-")
    assert NO_SPACE in result.stderr and "nothing was changed" in result.stderr
    assert full_home.config_file.read_bytes() == good
    assert list(full_home.config_dir.glob("config.yaml.bak-*")) == []
    assert stray_temps(full_home.config_dir) == []


def test_account_create_on_a_full_disk_names_the_file(full_home: Paths) -> None:
    home = home_of(full_home)
    fill(home)
    result = cli(home, "account", "create", "--password-stdin", stdin="local pass 1\n")
    assert_clear_error(result, full_home.account_file)
    assert not full_home.account_file.exists()


# -- temps left by interrupted writes (no mount needed) -----------------------------------------


def test_next_write_removes_only_stale_temps_of_its_own_file(paths: Paths) -> None:
    directory = paths.env_file.parent
    old = time.time() - STALE_TEMP_AGE - 5
    stale = directory / f".{paths.env_file.name}.ab12cd34.tmp"
    fresh = directory / f".{paths.env_file.name}.zz99yy88.tmp"  # a writer still at work
    other = directory / ".config.yaml.ab12cd34.tmp"  # another file's, not ours to judge
    for temp in (stale, fresh, other):
        temp.write_text("half written")
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    result = cli(home_of(paths), "env", "set", "A", "1", env=env_for(home_of(paths)))
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    assert fresh.exists() and other.exists()


def test_temp_of_a_killed_writer_is_removed_by_the_next_write(paths: Paths) -> None:
    """A writer killed between creating its temp and renaming it (kill -9) leaves the temp."""
    directory = paths.env_file.parent
    script = (
        "import os, signal, tempfile, sys\n"
        "fd, tmp = tempfile.mkstemp(prefix='.env.json.', suffix='.tmp', dir=sys.argv[1])\n"
        "os.write(fd, b'{\"half')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(directory)])
    assert done.returncode == -9
    (left,) = [p for p in directory.iterdir() if p.name.endswith(".tmp")]
    old = time.time() - STALE_TEMP_AGE - 1
    os.utime(left, (old, old))  # a minute later
    assert cli(home_of(paths), "env", "set", "A", "1").returncode == 0
    assert stray_temps(directory) == []
