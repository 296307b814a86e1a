"""Values no process environment can hold are refused where they come in, with where."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.agentproc import cli
from tests.config.cliutil import run
from tray_agent.envstore import MAX_ENTRY_BYTES, EnvStore, EnvStoreError, NewValue, value_problem
from tray_agent.paths import Paths
from tray_agent.secrets import MemoryStore


def names_in_file(paths: Paths) -> set[str]:
    if not paths.env_file.exists():
        return set()
    return {e["name"] for e in json.loads(paths.env_file.read_text())["entries"]}


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("abc\0def", "NUL byte"),
        ("\ud800", "not valid text"),
        ("x" * MAX_ENTRY_BYTES, "too long"),
    ],
    ids=["nul", "lone-surrogate", "too-long"],
)
def test_store_refuses_values_a_process_cannot_hold(paths: Paths, value: str, why: str) -> None:
    store = EnvStore(paths.env_file, MemoryStore())
    with pytest.raises(EnvStoreError, match=why) as info:
        store.set("CORP_PROJECT", value, secret=False)
    assert "CORP_PROJECT" in str(info.value)
    with pytest.raises(EnvStoreError):
        store.set_many([NewValue("FINE", "ok", False), NewValue("BAD", value, False)])
    assert names_in_file(paths) == set(), "nothing written when one value is refused"


def test_every_accepted_value_can_be_given_to_a_real_process(paths: Paths) -> None:
    longest = "y" * (MAX_ENTRY_BYTES - len("LONG") - 1)
    values = {"LONG": longest, "UNICODE": "żółć ✓ 🙂", "SPACES": " a b ", "EMPTY": ""}
    for name, value in values.items():
        assert value_problem(name, value) is None
    EnvStore(paths.env_file).set_many(NewValue(k, v, False) for k, v in values.items())
    env = {**os.environ, **EnvStore(paths.env_file).resolved()}
    code = "import os, json, sys; print(json.dumps({k: os.environ[k] for k in sys.argv[1:]}))"
    argv = [sys.executable, "-c", code, *values]
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == values


def test_env_set_from_stdin_refuses_a_nul_and_names_the_entry(paths: Paths) -> None:
    home = paths.config_dir.parent
    result = cli(home, "env", "set", "CORP_PROJECT", stdin="proj\0ect\n")
    assert result.returncode == 1
    assert result.stderr.startswith("error: the value of CORP_PROJECT contains a NUL byte")
    assert "Traceback" not in result.stderr
    assert names_in_file(paths) == set()


def test_env_set_refuses_a_value_too_long_for_an_environment(paths: Paths) -> None:
    result = run("env", "set", "BIG", "z" * 40_000)
    assert result.code == 1
    assert "the value of BIG is too long (40000 bytes)" in result.err
    assert names_in_file(paths) == set()


def test_import_reports_each_refused_line_and_imports_the_rest(
    paths: Paths, tmp_path: Path
) -> None:
    dotenv = tmp_path / "team.env"
    dotenv.write_text(
        "GOOD_1=one\nBAD_NUL=a\0b\nGOOD_2=two\nBAD_LONG=" + "q" * 40_000 + "\nGOOD_3=three\n"
    )
    result = run("env", "import", str(dotenv), "--plain")
    assert result.code == 0
    assert f"{dotenv}:2: BAD_NUL: the value of BAD_NUL contains a NUL byte" in result.err
    assert f"{dotenv}:4: BAD_LONG: the value of BAD_LONG is too long" in result.err
    assert "3 imported, 2 skipped" in result.out
    assert names_in_file(paths) == {"GOOD_1", "GOOD_2", "GOOD_3"}


# -- import speed ------------------------------------------------------------------------------

LINES = 200_000


def test_import_of_200k_lines_is_linear(paths: Paths, tmp_path: Path) -> None:
    """Was quadratic (line numbers counted from the start, a list search per entry)."""
    dotenv = tmp_path / "big.env"
    dotenv.write_text("".join(f"VAR_{i}=value-{i}\n" for i in range(LINES)))
    started = time.monotonic()
    result = cli(paths.config_dir.parent, "env", "import", str(dotenv), timeout=120)
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.endswith(f"{LINES} imported, 0 skipped\n")
    assert took < 60, f"{LINES} lines took {took:.1f} s"
    entries = json.loads(paths.env_file.read_text())["entries"]
    assert len(entries) == LINES and entries[-1] == {
        "name": f"VAR_{LINES - 1}",
        "secret": False,
        "enabled": True,
        "value": f"value-{LINES - 1}",
    }
