"""What the tray shows and announces for a status snapshot (no display needed)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tray_agent.tray.notices import Notices
from tray_agent.tray.view import TOOLTIP_MAX, build_view, icon_state

BASE: dict[str, Any] = {
    "sidecar": {"state": "running", "url": "http://127.0.0.1:4000", "restarts": 0, "error": None},
    "config": {"valid": True, "errors": []},
    "token": {"state": "valid", "expires_at": 2_000_000_000.0},
}


def snap(**parts: dict[str, Any]) -> dict[str, Any]:
    s = copy.deepcopy(BASE)
    for k, v in parts.items():
        s[k].update(v)
    return s


@pytest.mark.parametrize(
    ("sidecar", "token", "icon"),
    [
        ("running", "valid", "running"),
        ("starting", "valid", "starting"),
        ("restarting", "absent", "starting"),
        ("stopped", "valid", "stopped"),
        ("error", "valid", "error"),
        ("crashed", "valid", "error"),
        ("running", "expiring", "token-expiring"),
        ("running", "expired", "token-expired"),
        ("running", "error", "token-expired"),
        ("running", "absent", "running"),
    ],
)
def test_icon_state_follows_sidecar_then_token(sidecar: str, token: str, icon: str) -> None:
    assert icon_state(snap(sidecar={"state": sidecar}, token={"state": token})) == icon


def test_actions_are_enabled_per_state() -> None:
    running = build_view(snap())
    assert (running.can_start, running.can_stop, running.can_restart) == (False, True, True)
    stopped = build_view(snap(sidecar={"state": "stopped"}))
    assert (stopped.can_start, stopped.can_stop, stopped.can_restart) == (True, False, False)
    starting = build_view(snap(sidecar={"state": "starting"}))
    assert (starting.can_start, starting.can_stop, starting.can_restart) == (False, True, False)
    error = build_view(snap(sidecar={"state": "error", "error": "port 4000 is busy"}))
    assert error.can_start and error.can_restart
    assert "port 4000 is busy" in error.tooltip


def test_tooltip_has_state_url_and_expiry_and_fits_windows() -> None:
    v = build_view(snap(token={"state": "expiring", "expires_at": 2_000_000_000.0}))
    assert "running" in v.tooltip and "http://127.0.0.1:4000" in v.tooltip
    assert "token expires" in v.tooltip
    long = build_view(snap(sidecar={"state": "error", "error": "x" * 500}))
    assert len(long.tooltip) <= TOOLTIP_MAX


def test_each_condition_is_announced_once_until_it_changes() -> None:
    n = Notices()
    assert n.update(snap()) == []
    expiring = snap(token={"state": "expiring"})
    assert [x.kind for x in n.update(expiring)] == ["token-expiring"]
    assert n.update(expiring) == []
    assert n.update(snap()) == []  # renewed: condition cleared
    assert [x.kind for x in n.update(expiring)] == ["token-expiring"]
    expired = snap(token={"state": "expired"})
    assert [x.kind for x in n.update(expired)] == ["token-expired"]
    assert n.update(expired) == []


def test_refresh_failure_crash_and_crash_loop_are_announced_once() -> None:
    n = Notices()
    failed = snap(token={"state": "expiring", "last_error": "IAM unreachable"})
    kinds = [x.kind for x in n.update(failed)]
    assert "refresh-failed" in kinds
    assert n.update(failed) == []
    crashed = snap(sidecar={"state": "crashed", "restarts": 1, "error": "exit 1"})
    assert [x.kind for x in n.update(crashed)] == ["crashed"]
    assert n.update(crashed) == []
    n.update(snap())
    loop = snap(sidecar={"state": "error", "error": "crash loop: the sidecar exited 5 times"})
    notes = n.update(loop)
    assert [x.kind for x in notes] == ["crash-loop"]
    assert n.update(loop) == []


def test_invalid_config_names_file_and_line() -> None:
    n = Notices()
    bad = snap(
        config={
            "valid": False,
            "errors": [
                {"file": "/h/config.yaml", "line": 12, "column": 5, "message": "unknown key"},
                {"file": "/h/config.yaml", "line": 20, "column": 1, "message": "bad port"},
            ],
        }
    )
    (notice,) = n.update(bad)
    assert notice.message.startswith("/h/config.yaml:12:5: unknown key")
    assert "+1 more" in notice.message
    assert n.update(bad) == []


def test_a_refused_policy_is_announced_once_with_its_reason() -> None:
    n = Notices()
    refused = {
        "policy": {
            "state": "last_good",
            "refused": "/etc/litellm-bridge/policy.json "
            "is writable by group or others (mode 0666); fix: chmod 644",
        }
    }
    first = n.update(refused)
    assert [x.kind for x in first] == ["policy-refused"]
    assert "last good one stays" in first[0].message and "chmod 644" in first[0].message
    assert n.update(refused) == [], "the same refusal is not announced again"
    assert n.update({"policy": {"state": "ok"}}) == []


def test_an_audit_log_that_cannot_be_written_or_does_not_verify_is_announced_once() -> None:
    n = Notices()
    full = {"audit": {"error": "the disk holding /x/audit is full (12 KiB free)", "blocking": True}}
    first = n.update(full)
    assert [x.kind for x in first] == ["audit-failing"]
    assert "is full" in first[0].message and "Requests are refused" in first[0].message
    assert n.update(full) == []
    assert n.update({"audit": {"error": None}}) == []
    again = n.update({"audit": {"error": "cannot write /x/audit: Permission denied"}})
    assert [x.kind for x in again] == ["audit-failing"] and "Requests still run" in again[0].message
    broken = {"audit": {"last_verify": {"ok": False, "problem": "audit-1.jsonl:4 (seq 4): x"}}}
    assert [x.kind for x in n.update(broken)] == ["audit-broken"]
