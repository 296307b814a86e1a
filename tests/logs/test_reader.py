"""`litellm-bridge logs`: filters, merging, rotation, follow; reads files without an agent."""

from __future__ import annotations

import logging
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.agentproc import ROOT, cli, env_for
from tray_agent.logs.reader import Follower, make_filter, parse_since, read_entries
from tray_agent.logs.setup import SidecarLog, StructuredFormatter, timestamp

T0 = 1_700_000_000.0


def agent_line(t: float, level: str, comp: str, text: str) -> str:
    return f"{timestamp(t)} {level:<7} {comp} {text}\n"


def write_logs(home: Path) -> Path:
    logs = home / "logs"
    logs.mkdir(parents=True)
    (logs / "agent.log.1").write_text(agent_line(T0, "INFO", "core", "agent.started home=x"))
    (logs / "agent.log").write_text(
        agent_line(T0 + 10, "INFO", "core", "sidecar.ready pid=1")
        + agent_line(T0 + 30, "ERROR", "core", "core.event_failed event=Timer")
        + "Traceback (most recent call last):\n  File x\nValueError: boom\n"
        + agent_line(T0 + 40, "WARNING", "token", "token: cannot reach the IAM")
    )
    (logs / "sidecar.log").write_text(
        f"{timestamp(T0 + 20)} INFO    sidecar out pid=9 INFO:     Started server\n"
        f"{timestamp(T0 + 35)} ERROR   sidecar err pid=9 litellm error happened\n"
    )
    return logs


def texts(home: Path, **kw: object) -> list[str]:
    logs = home / "logs"
    flt = make_filter(now=T0 + 60, **kw)  # type: ignore[arg-type]
    return [e.text for e in read_entries([logs / "agent.log", logs / "sidecar.log"], flt)]


def test_entries_are_merged_in_time_order_across_rotation(tmp_path: Path) -> None:
    write_logs(tmp_path)
    out = texts(tmp_path)
    assert [t.split()[3] for t in out] == [
        "agent.started",
        "sidecar.ready",
        "out",
        "core.event_failed",
        "err",
        "token:",
    ]
    assert "ValueError: boom" in out[3]  # the traceback stays with its entry


def test_level_grep_since_and_component_filters(tmp_path: Path) -> None:
    write_logs(tmp_path)
    assert len(texts(tmp_path, level="error")) == 2
    assert len(texts(tmp_path, level="warning")) == 3
    assert [t.split()[3] for t in texts(tmp_path, grep="boom")] == ["core.event_failed"]
    assert len(texts(tmp_path, since="35s")) == 3  # from T0 + 25
    assert all(" sidecar " in t for t in texts(tmp_path, components=["sidecar"]))
    assert len(texts(tmp_path, components=["token,sidecar"])) == 3
    assert texts(tmp_path, components=["nothing"]) == []


def test_since_accepts_durations_and_times() -> None:
    assert parse_since("10m", now=1000.0) == 400.0
    assert parse_since("2h", now=10_000.0) == 10_000.0 - 7200
    assert parse_since("2023-11-14T22:13:20Z") == T0
    with pytest.raises(ValueError, match="--since"):
        parse_since("yesterday-ish")


def test_follow_survives_rotation(tmp_path: Path) -> None:
    logs = write_logs(tmp_path)
    base = logs / "agent.log"
    f = Follower([base], make_filter(level="warning"))
    assert f.poll() == []
    with base.open("a") as fh:
        fh.write(agent_line(T0 + 50, "INFO", "core", "quiet"))
        fh.write(agent_line(T0 + 51, "ERROR", "core", "loud one"))
    assert [ln.split()[3] for ln in f.poll()] == ["loud"]
    base.rename(logs / "agent.log.2")
    base.write_text(agent_line(T0 + 60, "ERROR", "core", "after rotation"))
    assert [ln.split()[3] for ln in f.poll()] == ["after"]


def test_sidecar_output_gets_levels_and_is_redacted_at_write(tmp_path: Path) -> None:
    from tray_agent.logs.redact import REDACTOR

    REDACTOR.add("planted-sidecar-secret-1")
    out = SidecarLog(tmp_path / "sidecar.log")
    out.write(7, "err", "INFO:     Uvicorn running\n")
    out.write(7, "err", "Traceback (most recent call last):\n")
    out.write(7, "err", '  File "x.py", line 1\n')
    out.write(7, "err", "KeyError: planted-sidecar-secret-1\n")
    out.write(7, "out", "12:00:00 - LiteLLM Proxy:WARNING: slow\n")
    out.close()
    lines = (tmp_path / "sidecar.log").read_text().splitlines()
    assert [ln.split()[1] for ln in lines] == ["INFO", "ERROR", "ERROR", "ERROR", "WARNING"]
    assert "planted-sidecar-secret-1" not in "\n".join(lines)
    assert all(ln.split()[2] == "sidecar" for ln in lines)


def test_agent_records_are_structured_and_redacted() -> None:
    from tray_agent.logs.redact import REDACTOR

    REDACTOR.add("planted-agent-secret-2")
    rec = logging.LogRecord("tray_agent.token", logging.WARNING, "f", 1, "token: %s", ("x",), None)
    rec.fields = {"detail": "has planted-agent-secret-2 inside", "n": 1}  # type: ignore[attr-defined]
    line = StructuredFormatter().format(rec)
    parts = line.split()
    assert parts[1:4] == ["WARNING", "token", "token:"]
    assert "planted-agent-secret-2" not in line and 'detail="has [REDACTED] inside"' in line


def test_cli_filters_without_an_agent(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_logs(home)
    r = cli(home, "logs", "--level", "error", "--component", "core")
    assert r.returncode == 0, r.stderr
    assert "core.event_failed" in r.stdout and "ValueError: boom" in r.stdout
    assert "sidecar" not in r.stdout
    r = cli(home, "logs", "--grep", "Started server", "-n", "0")
    assert r.stdout.count("\n") == 1
    r = cli(home, "logs", "--since", "whenever")
    assert r.returncode == 2 and "--since" in r.stderr


def test_cli_follow_prints_new_lines(tmp_path: Path) -> None:
    home = tmp_path / "home"
    logs = write_logs(home)
    stderr = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tray_agent", "logs", "-f", "--grep", "fresh", "-n", "0"],
        env=env_for(home),
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=ROOT,
    )
    printed: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for out in proc.stdout:
            printed.put(out)

    threading.Thread(target=pump, daemon=True).start()

    def append(text: str) -> None:
        with (logs / "sidecar.log").open("a") as fh:
            fh.write(f"{timestamp()} INFO    sidecar out pid=9 {text}\n")

    def next_line(until: float) -> str | None:
        try:
            return printed.get(timeout=max(0.0, min(0.25, until - time.monotonic())))
        except queue.Empty:
            return None

    def probe_number(line: str) -> int:
        return int(line.split("fresh probe ")[1]) if "fresh probe " in line else 0

    try:
        # The follower is running once a line written after the first output (which comes
        # after the initial read) is printed: wait for that, not for a guessed start-up time.
        deadline = time.monotonic() + 60
        seen: list[str] = []
        written_before_output: int | None = None
        probe = 0
        while time.monotonic() < deadline and proc.poll() is None:
            probe += 1
            append(f"fresh probe {probe}")
            if (out := next_line(deadline)) is not None:
                seen.append(out)
            if seen and written_before_output is None:
                written_before_output = probe
            if written_before_output is not None and any(
                probe_number(ln) > written_before_output for ln in seen
            ):
                break
        else:
            errors = (tmp_path / "stderr.txt").read_text()
            raise AssertionError(f"the follower printed {seen} (exit {proc.poll()}): {errors}")
        append("fresh final line")
        while "fresh final line" not in seen[-1] and time.monotonic() < deadline:
            if (more := next_line(deadline)) is not None:
                seen.append(more)
        assert "fresh final line" in seen[-1], seen
        probes = [probe_number(ln) for ln in seen[:-1]]
        # Each printed once, in order, and nothing the filter excludes.
        assert probes == sorted(set(probes)) and 0 not in probes, seen
        assert all("sidecar" in ln and "fresh" in ln for ln in seen), seen
    finally:
        proc.kill()
        proc.wait(10)
        stderr.close()
