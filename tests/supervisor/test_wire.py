"""The agent's and the sidecar's definitions of their wire agree (names, and each side
parses what the other writes)."""

from __future__ import annotations

import json
import time

import pytest

from sidecar import wire as sidecar_wire
from sidecar.channel import StdinChannel
from sidecar.handoff import SharedSocket, listening_socket
from sidecar.state import BridgeState
from tray_agent import wire as agent_wire


def test_both_sides_name_the_same_variables_messages_and_events() -> None:
    assert agent_wire.SIDECAR_ENV == sidecar_wire.READ_ENV
    for name in sidecar_wire.READ_ENV:
        const = next(k for k, v in vars(sidecar_wire).items() if v == name and k.endswith("_ENV"))
        assert getattr(agent_wire, const) == name, const
    assert agent_wire.MESSAGE_TYPES == sidecar_wire.MESSAGE_TYPES
    assert agent_wire.SIDECAR_EVENTS == sidecar_wire.EVENTS
    # The agent's own events never collide with what a sidecar may send.
    assert not agent_wire.AGENT_EVENTS & sidecar_wire.EVENTS
    assert set(agent_wire.PASSED_THROUGH) - {agent_wire.HOME_ENV} <= sidecar_wire.READ_ENV


def channel() -> tuple[StdinChannel, BridgeState, SharedSocket]:
    state, shared = BridgeState(), SharedSocket()
    return StdinChannel(state, on_eof=lambda: None, shared=shared), state, shared


def test_the_sidecar_applies_the_agents_token_message() -> None:
    ch, state, _ = channel()
    expires = time.time() + 600
    ch.handle_line(agent_wire.encode(agent_wire.token_message("tok-123", expires)))
    assert state.usable_token() == "tok-123"
    ch.handle_line(agent_wire.encode(agent_wire.token_message(None, None)))
    assert state.usable_token() is None


def test_the_sidecar_applies_the_agents_drain_message() -> None:
    ch, _, _ = channel()
    seen: list[float] = []
    ch.handle_line(agent_wire.encode(agent_wire.drain_message(7.5)))
    assert ch.drain_pending  # asked before the server is up: runs once it is
    ch.set_drain_handler(seen.append)
    assert seen == [7.5]


def test_the_sidecar_takes_the_shared_socket_bytes() -> None:
    ch, _, shared = channel()
    raw = bytes(range(256)) * 3
    ch.handle_line(agent_wire.encode(agent_wire.listen_socket_message(raw)))
    assert shared.wait(0) == raw


def test_a_message_type_the_sidecar_does_not_know_is_refused() -> None:
    try:
        sidecar_wire.parse_message(json.dumps({"type": "tokn"}).encode())
    except sidecar_wire.BadMessage as exc:
        assert "tokn" in str(exc)
    else:
        raise AssertionError("an unknown message type was accepted")


def test_the_agent_parses_every_sidecar_event_line() -> None:
    for name in sorted(sidecar_wire.EVENTS):
        parsed = agent_wire.parse_event(sidecar_wire.event_line(name, pid=42))
        assert parsed == {"event": name, "pid": 42}
    assert agent_wire.parse_event(b"not json\n") is None
    assert agent_wire.parse_event(b"[1]\n") is None


def test_a_promised_shared_socket_that_never_comes_is_a_start_error() -> None:
    env = {sidecar_wire.LISTEN_SHARED_ENV: "1"}
    assert listening_socket({}, SharedSocket(), timeout=0) is None  # POSIX: the fd is served
    with pytest.raises(OSError, match="no listening socket arrived"):
        listening_socket(env, SharedSocket(), timeout=0.1)
