"""Every JSON the product prints or sends is strict: no NaN or Infinity, never a crash."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterator
from multiprocessing.connection import Client
from pathlib import Path
from typing import Any

import pytest

from tests.token.jsoncheck import strict_loads
from tray_agent.commands.context import CliContext
from tray_agent.control.protocol import FAMILY
from tray_agent.control.server import ControlServer
from tray_agent.paths import Paths
from tray_agent.strictjson import dumps

ABSURD = {"expires_at": float("inf"), "list": [float("nan"), -float("inf"), 1.5], "ok": True}
CLEAN = {"expires_at": None, "list": [None, None, 1.5], "ok": True}


def test_dumps_turns_non_finite_numbers_into_null() -> None:
    assert strict_loads(dumps(ABSURD)) == CLEAN
    assert strict_loads(dumps((float("nan"), {"a": (float("inf"),)}))) == [None, {"a": [None]}]


def test_print_json_prints_strict_json(home: Paths) -> None:
    out = io.StringIO()
    CliContext(paths=home, out=out).print_json({"token": ABSURD})
    assert strict_loads(out.getvalue()) == {"token": CLEAN}


@pytest.fixture
def server() -> Iterator[tuple[ControlServer, str]]:
    if FAMILY != "AF_UNIX":
        pytest.skip("the named-pipe server is exercised on Windows")
    # A short directory: Unix socket paths are limited to about 100 bytes.
    with tempfile.TemporaryDirectory(prefix="ctl") as tmp:
        address = str(Path(tmp) / "c.sock")

        def handler(method: str, params: dict[str, Any]) -> Any:
            if method == "absurd":
                return ABSURD
            if method == "unserialisable":
                loop: list[Any] = []
                loop.append(loop)
                return loop
            raise ValueError(f"unknown {method}")

        srv = ControlServer(address, handler)
        srv.start()
        try:
            yield srv, address
        finally:
            srv.close()


def call(address: str, method: str) -> Any:
    conn = Client(address, family=FAMILY)
    try:
        conn.send_bytes(json.dumps({"method": method, "params": {}}).encode())
        return strict_loads(conn.recv_bytes().decode())
    finally:
        conn.close()


def test_control_replies_are_strict_json(server: tuple[ControlServer, str]) -> None:
    _, address = server
    assert call(address, "absurd") == {"ok": True, "result": CLEAN}


def test_a_reply_that_cannot_be_json_is_an_error_reply(server: tuple[ControlServer, str]) -> None:
    _, address = server
    reply = call(address, "unserialisable")
    assert reply["ok"] is False and "unserialisable" in reply["error"]
    assert call(address, "absurd")["ok"] is True  # the connection handler survived
