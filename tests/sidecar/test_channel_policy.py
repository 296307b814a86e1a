"""The sidecar's stdin channel takes the policy and usage messages the agent builds."""

from __future__ import annotations

from sidecar.channel import StdinChannel
from sidecar.state import BridgeState
from tray_agent import wire


def _channel() -> tuple[StdinChannel, BridgeState]:
    state = BridgeState()
    return StdinChannel(state=state), state


def test_policy_and_usage_messages_replace_the_state_whole() -> None:
    channel, state = _channel()
    assert state.policy is None and state.usage is None
    policy = {"models": {"allow": ["corp-*"], "deny": []}, "limits": {"rpm": 5}}
    channel.handle_line(wire.encode(wire.policy_message(policy)))
    channel.handle_line(wire.encode(wire.usage_message({"requests_today": 4})))
    assert state.policy == policy and state.usage == {"requests_today": 4}
    assert state.usage_received_at > 0
    channel.handle_line(wire.encode(wire.policy_message(None)))
    assert state.policy is None, "no policy any more: nothing enforced"


def test_a_policy_that_is_not_an_object_is_ignored_and_the_last_one_stays() -> None:
    channel, state = _channel()
    channel.handle_line(wire.encode(wire.policy_message({"limits": {"rpm": 1}})))
    channel.handle_line(b'{"type": "policy", "policy": ["allow", "everything"]}\n')
    channel.handle_line(b'{"type": "usage", "usage": 7}\n')
    assert state.policy == {"limits": {"rpm": 1}} and state.usage is None
