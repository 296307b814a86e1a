"""First run with an admin-deployed setup, in the installed frozen build, typed into with xdotool.

The same first run as tests/dialogs/test_wizard_express.py, but nothing runs from source: the
extracted package's ``litellm-bridge tray`` starts with no account (first run), opens the
wizard as its own frozen ``dialog wizard`` child, and that wizard starts the frozen agent's
proxy and runs the real ``claude`` program (tests/e2e/install_clis.sh). The policy reaches
the frozen build the supported way: ``LITELLM_BRIDGE_POLICY_DIR`` (honoured while no machine
policy exists; the machine directory's test hook is off in a frozen build), a root-owned
directory as in tests/policy/policy_files.py.

The wizard runs on a private Xvfb display with its own tray host, so no other desktop test
can take the keyboard focus while a person "types". The test counts the inputs (a field
filled or a key that presses a button) from the first window to "Claude Code answered" and
the machine time (printed, and kept in test-artifacts/first-run-frozen.json). The wizard's
text cannot be read from outside its process: the end is the moment the ``claude`` it ran
has answered the stand-in LLM (token and project in the request) and exited; the final page
is kept as a screenshot, and ``clients test claude-code`` afterwards, with the same home,
must answer through the proxy the wizard started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.clients.bridge import cli_bin
from tests.dialogs.test_wizard_express import EMPLOYEE, MAX_INPUTS, PASSWORD, REPLY, deploy
from tests.packaging.frozen import APP_REL, build_packages, extract
from tests.policy.policy_files import needs_root
from tests.standins.iam import StandinIam
from tests.standins.llm import RecordedRequest, StandInLLM
from tests.tray.desktop import find_window, focus, screenshot, settled_screenshot
from tray_agent.clients.tooltest import PROMPT
from tray_agent.dialogs.wizard import WizardDialog
from tray_agent.paths import get_paths
from tray_agent.policy.sources import machine_policy_exists

__all__ = ["cli_bin"]  # the pinned CLIs (a session fixture shared with the dialog tests)

pytestmark = [pytest.mark.gui, pytest.mark.slow, needs_root, pytest.mark.timeout(3600)]

HANG_SECONDS = 240.0
"""Far above the measured time: a bound for a hang, not a timing check (tests check
behaviour; the measured time is printed and written to test-artifacts/first-run-frozen.json).
"""
TRAYER_SIZE = ("--widthtype", "pixel", "--width", "200", "--height", "32", "--SetDockType", "true")
TOOL_VARS = ("ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_", "CODEX_", "CLAUDE_", "LITELLM_BRIDGE_A")
NOT_INHERITED = (
    "LITELLM_BRIDGE_SIDECAR_CMD",
    "LITELLM_BRIDGE_TEST_HOOKS",
    "LITELLM_BRIDGE_MACHINE_POLICY_DIR",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deb-root")
    extract(build_packages(), root)
    return root / APP_REL


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private Xvfb with a tray host; this test's X clients (and xdotool) use it."""
    for tool in ("Xvfb", "xdotool", "import", "xwininfo"):
        if not shutil.which(tool):
            pytest.skip(f"needs {tool}")
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.skip("needs a session bus and keyring: run under scripts/with-desktop.sh")
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    assert number.isdigit(), "Xvfb did not report its display"
    name = f":{number}"
    monkeypatch.setenv("DISPLAY", name)
    host = None
    if shutil.which("trayer"):
        host = subprocess.Popen(
            ["trayer", "--edge", "top", "--align", "right", *TRAYER_SIZE],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
    try:
        yield name
    finally:
        for proc in (host, xvfb):
            if proc is not None:
                proc.terminate()
                proc.wait(10)


@pytest.fixture
def root() -> Iterator[Path]:
    """A short, neutral folder (the wizard shows paths in its screenshots)."""
    path = Path(tempfile.mkdtemp(prefix="lb-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def iam() -> Iterator[StandinIam]:
    with StandinIam(users={EMPLOYEE: PASSWORD}, ttl=3600) as s:
        yield s


@pytest.fixture
def corp_llm() -> Iterator[StandInLLM]:
    with StandInLLM(reply=REPLY, models=("internal-model",)) as server:
        yield server


def frozen_env(
    app: Path, home: Path, user: Path, policy: dict[str, str], cli_bin: Path
) -> dict[str, str]:
    """A user's session: HOME, the CLIs and ``litellm-bridge`` (as the package's launcher) on
    PATH, no tool, proxy or test-hook variables."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(TOOL_VARS) and k not in NOT_INHERITED
    }
    launcher = user.parent / "bin" / "litellm-bridge"
    launcher.parent.mkdir()
    launcher.write_text(f'#!/bin/sh\nexec "{app / "litellm-bridge"}" "$@"\n')
    launcher.chmod(0o755)
    env.update(
        policy,
        HOME=str(user),
        LITELLM_BRIDGE_HOME=str(home),
        PATH=os.pathsep.join([str(launcher.parent), str(cli_bin), os.environ["PATH"]]),
        NO_PROXY="127.0.0.1,localhost",
        CI="1",
        PYSTRAY_BACKEND="gtk",
        XDG_CONFIG_HOME=str(user / ".config"),
        LITELLM_BRIDGE_UI_SCALE="1",
    )
    return env


def descendants(pid: int) -> dict[int, str]:
    """The live processes below ``pid``: their command lines."""
    parents: dict[int, int] = {}
    lines: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        parents[int(entry)] = int(fields[1])
        lines[int(entry)] = cmd.replace(b"\0", b" ").decode(errors="replace")
    below: dict[int, str] = {}
    frontier = {pid}
    while frontier:
        children = {p for p, pp in parents.items() if pp in frontier and p not in below}
        below.update({p: lines[p] for p in children})
        frontier = children
    return below


def running_claude(tray_pid: int) -> bool:
    return any(
        os.path.basename(cmd.split(" ", 1)[0]) == "claude" or "/claude " in cmd
        for cmd in descendants(tray_pid).values()
    )


def proxy_ready(port: int) -> bool:
    """LiteLLM answers on the proxy's port (the agent holds the socket before that)."""
    try:
        with httpx.Client(timeout=0.5, trust_env=False) as http:
            return http.get(f"http://127.0.0.1:{port}/health/liveliness").status_code == 200
    except httpx.HTTPError:
        return False


def from_claude(request: RecordedRequest) -> bool:
    """A completion ``claude`` sent (not the direct request ``clients test`` makes first)."""
    messages = request.body.get("messages") if isinstance(request.body, dict) else None
    direct = [{"role": "user", "content": PROMPT}]
    return isinstance(messages, list) and messages != direct


class Person:
    """Types into the focused window through the X server, and counts the inputs."""

    def __init__(self) -> None:
        self.inputs = 0

    @staticmethod
    def _xdotool(*args: str) -> None:
        subprocess.run(["xdotool", *args], check=True, timeout=60)
        time.sleep(0.2)

    def fill(self, text: str) -> None:
        self._xdotool("type", "--delay", "5", text)
        self.inputs += 1

    def next_field(self) -> None:
        self._xdotool("key", "Tab")  # moving between fields is not an input

    def press(self, key: str) -> None:
        self._xdotool("key", key)
        self.inputs += 1


def output(root: Path, home: Path) -> str:
    """The end of the tray's own output and of the agent's logs, for a failure message."""
    parts = [(root / "tray-stdout.log").read_text(errors="replace")[-3000:]]
    parts += [p.read_text(errors="replace")[-3000:] for p in sorted(home.glob("logs/*.log"))]
    return "\n".join(parts)


def frozen_cli(app: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(app / "litellm-bridge"), *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_frozen_admin_deployed_first_run_takes_five_inputs_to_claude_code_answering(
    app: Path,
    display: str,
    root: Path,
    iam: StandinIam,
    corp_llm: StandInLLM,
    cli_bin: Path | None,
    artifacts: Path,
) -> None:
    if cli_bin is None:
        if os.environ.get("CI"):
            pytest.fail("npm is not installed in CI: the real claude is needed here")
        pytest.skip("npm is not installed: the real claude is not here")
    if machine_policy_exists():
        pytest.skip("a machine policy is installed here: LITELLM_BRIDGE_POLICY_DIR is ignored")
    home = root / "litellm-bridge"
    user = root / "u"
    user.mkdir()
    policy = deploy(home, root, iam, corp_llm)
    port = int(yaml.safe_load((home / "config" / "config.yaml").read_text())["bridge"]["port"])
    env = frozen_env(app, home, user, policy, cli_bin)
    log = open(root / "tray-stdout.log", "ab")  # noqa: SIM115
    began = time.monotonic()
    tray = subprocess.Popen(
        [str(app / "litellm-bridge"), "tray"], env=env, stdout=log, stderr=log, cwd=user
    )
    phases: dict[str, float] = {}

    def mark(name: str) -> None:
        phases.setdefault(name, round(time.monotonic() - began, 1))

    try:
        try:
            wid = find_window(WizardDialog.title, timeout=120)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{output(root, home)}") from None
        mark("wizard_shown")
        focus(wid)
        shots = artifacts / "frozen-first-run-1.png"
        settled_screenshot(shots, window=wid)
        person = Person()
        person.fill("local password 1")
        person.next_field()
        person.fill("local password 1")
        person.next_field()
        person.fill(EMPLOYEE)
        person.next_field()
        person.fill(PASSWORD)
        filled = screenshot(artifacts / "frozen-first-run-2-filled.png", window=wid)
        person.press("Return")  # "Set up": account, sign-in, start, tools, tests
        mark("set_up_pressed")

        testing: Path | None = None
        deadline = began + HANG_SECONDS
        while True:
            assert tray.poll() is None, f"the tray exited with {tray.returncode}"
            assert time.monotonic() < deadline, (
                f"no answer from Claude Code after {HANG_SECONDS:.0f} s; phases: {phases}\n"
                + output(root, home)
            )
            if iam.issued:
                mark("signed_in")
            if "proxy_ready" not in phases and proxy_ready(port):
                mark("proxy_ready")
            if running_claude(tray.pid):
                if "claude_started" not in phases:
                    mark("claude_started")
                    testing = screenshot(artifacts / "frozen-first-run-3-testing.png", window=wid)
            elif "claude_started" in phases and any(map(from_claude, corp_llm.completions())):
                mark("claude_code_answered")
                break
            time.sleep(0.1)
        took = phases["claude_code_answered"]
        final = settled_screenshot(
            artifacts / "frozen-first-run-4-answered.png", window=wid, unlike=testing or filled
        )
        measured = {"inputs": person.inputs, "seconds": phases}
        print(f"\nfirst run, admin-deployed, frozen build: {json.dumps(measured)}")
        (artifacts / "first-run-frozen.json").write_text(json.dumps(measured, indent=2) + "\n")
        assert final.exists()

        # Every completion the stand-in answered carried the signed-in token and the project
        # the policy sets (it refuses others with 401; here each is checked as received).
        completions = corp_llm.completions()
        assert completions and any(map(from_claude, completions))
        for request in completions:
            assert isinstance(request.body, dict)
            assert request.body.get("token") in iam.issued, request.body.keys()
            assert request.body.get("project") == "proj-42"
        assert person.inputs <= MAX_INPUTS
        assert took <= HANG_SECONDS

        # Claude Code now answers through the proxy the wizard started, with its setup.
        result = frozen_cli(app, env, "clients", "test", "claude-code", "--json")
        assert result.returncode == 0, result.stdout + result.stderr
        test: dict[str, Any] = json.loads(result.stdout)
        assert test["ok"] and test["binary"] and test["binary"]["ok"], test
        assert REPLY in test["binary"]["answer"], test
        assert get_paths({"LITELLM_BRIDGE_HOME": str(home)}).account_file.exists()
        env_file = home / "config" / "env.json"
        assert not env_file.exists() or "proj-42" not in env_file.read_text()

        assert tray.poll() is None, "the tray did not keep running"
    finally:
        if tray.poll() is None:
            tray.send_signal(signal.SIGTERM)
            try:
                tray.wait(60)
            except subprocess.TimeoutExpired:
                tray.kill()
                tray.wait(10)
        log.close()
