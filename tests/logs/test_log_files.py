"""Log files are private and never written through a planted symlink."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from tray_agent.logs.setup import SidecarLog, open_log, rotating_handler


def test_a_log_symlink_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    log = tmp_path / "agent.log"
    log.symlink_to(victim)
    with pytest.raises(OSError, match="symlink"):
        rotating_handler(log)
    with pytest.raises(OSError, match="symlink"):
        SidecarLog(log)
    assert victim.read_text() == "precious\n"


def test_logs_are_created_private_and_an_open_one_is_made_private(tmp_path: Path) -> None:
    old = tmp_path / "old.log"
    old.write_text("x\n")
    os.chmod(old, 0o644)
    open_log(old).close()
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    new = tmp_path / "sidecar.log"
    out = SidecarLog(new)
    out.write(1, "out", "hello")
    out.close()
    assert stat.S_IMODE(new.stat().st_mode) == 0o600
    assert "hello" in new.read_text()


def test_a_fifo_where_a_log_goes_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "agent.log"
    os.mkfifo(fifo)
    with pytest.raises(OSError):
        open_log(fifo)


def test_rotation_keeps_writing_to_private_files(tmp_path: Path) -> None:
    path = tmp_path / "agent.log"
    handler = rotating_handler(path)
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    handler.maxBytes = 200
    logger = logging.getLogger("test-rotation")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for i in range(20):
            logger.warning("line %d %s", i, "y" * 40)
    finally:
        logger.removeHandler(handler)
        handler.close()
    rotated = sorted(tmp_path.glob("agent.log*"))
    assert len(rotated) >= 2
    for f in rotated:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_a_hard_linked_log_is_refused_and_the_other_file_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.chmod(victim, 0o644)
    logs = tmp_path / "logs"
    logs.mkdir()
    os.link(victim, logs / "agent.log")
    with pytest.raises(OSError, match="hard link"):
        rotating_handler(logs / "agent.log")
    assert victim.read_text() == "precious\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def test_a_symlinked_log_folder_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "logs").symlink_to(elsewhere)
    with pytest.raises(OSError, match="not a symlink"):
        open_log(tmp_path / "logs" / "agent.log")
    assert list(elsewhere.iterdir()) == []
