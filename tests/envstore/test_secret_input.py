"""A secret value is typed (no echo) or piped; on the command line it works with a warning.

Runs against the real Secret Service keyring (scripts/with-desktop.sh).
"""

from __future__ import annotations

import os
import select
import sys
import time

import pytest

from tests.agentproc import ROOT, cli
from tests.helpers.keyring import require_keyring
from tray_agent.envstore import secret_key
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore, open_secret_store

VALUE = "sk-typed-7f3a9c"


@pytest.fixture
def secrets(paths: Paths) -> SecretStore:
    return require_keyring(open_secret_store(paths.keyring_namespace))


def test_piped_secret_is_stored_without_a_warning(paths: Paths, secrets: SecretStore) -> None:
    result = cli(paths.config_dir.parent, "env", "set", "CORP_LLM_KEY", "--secret", stdin=VALUE)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert VALUE not in result.stdout
    assert secrets.get(secret_key("CORP_LLM_KEY")) == VALUE
    assert VALUE not in paths.env_file.read_text()


def test_secret_on_the_command_line_works_but_warns(paths: Paths, secrets: SecretStore) -> None:
    home = paths.config_dir.parent
    result = cli(home, "env", "set", "CORP_LLM_KEY", VALUE, "--secret")
    assert result.returncode == 0, result.stderr
    assert "visible in ps and your shell history" in result.stderr
    assert "litellm-bridge env set CORP_LLM_KEY --secret" in result.stderr
    assert VALUE not in result.stderr + result.stdout
    assert secrets.get(secret_key("CORP_LLM_KEY")) == VALUE
    # A new value for an entry that is already secret stays secret: the same warning.
    again = cli(home, "env", "set", "CORP_LLM_KEY", "sk-second")
    assert "visible in ps" in again.stderr
    # A plain value on the command line is normal use.
    plain = cli(home, "env", "set", "CORP_PROJECT", "p-1")
    assert plain.returncode == 0 and "visible in ps" not in plain.stderr


@pytest.mark.skipif(os.name == "nt", reason="uses a pseudo-terminal")
def test_secret_typed_on_a_terminal_is_not_echoed(paths: Paths, secrets: SecretStore) -> None:
    import pty

    env = {**os.environ, "LITELLM_BRIDGE_HOME": str(paths.config_dir.parent)}
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal, as in a real shell
        os.chdir(ROOT)
        os.execve(  # noqa: S606 - exec in the forked child, no shell wanted
            sys.executable,
            [sys.executable, "-m", "tray_agent", "env", "set", "CORP_LLM_KEY", "--secret"],
            env,
        )
    screen = b""
    deadline = time.monotonic() + 60
    typed = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
        if not typed and b"CORP_LLM_KEY (hidden): " in screen:
            os.write(fd, VALUE.encode() + b"\n")
            typed = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = screen.decode(errors="replace")
    assert typed, text
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert VALUE not in text, "the typed secret was echoed"
    assert "set CORP_LLM_KEY (secret, value in the OS keyring)" in text
    assert "visible in ps" not in text
    assert secrets.get(secret_key("CORP_LLM_KEY")) == VALUE
