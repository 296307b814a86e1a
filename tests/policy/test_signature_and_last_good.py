"""Signatures (good, bad, missing) and the last good policy (kept, verified, locked down)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.policy.policy_files import needs_root, new_key, policy_dir, sign, write_policy
from tray_agent.policy.load import evaluate, store_for
from tray_agent.policy.store import RECORD_FILE

pytestmark = needs_root
KEY_HOOK = "LITELLM_BRIDGE_POLICY_PUBLIC_KEY"


def env(d: Path) -> dict[str, str]:
    return {"LITELLM_BRIDGE_POLICY_DIR": str(d)}


def test_signature_required_when_the_package_has_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, public = new_key()
    d = policy_dir(tmp_path)
    f = write_policy(d / "policy.json", {"limits": {"rpm": 5}})
    assert evaluate(env(d)).state == "policy"  # no key in the package: unsigned is fine
    monkeypatch.setenv(KEY_HOOK, public)
    eff = evaluate(env(d))
    assert eff.refused is not None and eff.refused.reason == "signature_missing"
    sign(key, f)
    eff = evaluate(env(d))
    assert eff.state == "policy" and eff.signed and eff.policy.limits.rpm == 5
    # Changed after signing:
    write_policy(f, {"limits": {"rpm": 500}})
    eff = evaluate(env(d))
    assert eff.refused is not None and eff.refused.reason == "signature_invalid"
    # Signed with another key:
    other, _ = new_key()
    sign(other, f)
    assert evaluate(env(d)).refused.reason == "signature_invalid"  # type: ignore[union-attr]
    Path(str(f) + ".sig").write_text("not base64 !!")
    assert evaluate(env(d)).refused.reason == "signature_invalid"  # type: ignore[union-attr]
    # Drop-ins need their own signature.
    sign(key, f)
    write_policy(d / "policy.d" / "10.json", {"limits": {"tpm": 1}})
    eff = evaluate(env(d))
    assert eff.refused is not None and eff.refused.source.endswith("10.json")
    sign(key, d / "policy.d" / "10.json")
    assert evaluate(env(d)).policy.limits.tpm == 1


def test_a_broken_package_key_accepts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key, _ = new_key()
    d = policy_dir(tmp_path)
    sign(key, write_policy(d / "policy.json", {}))
    monkeypatch.setenv(KEY_HOOK, "@@@")
    assert evaluate(env(d)).refused.reason == "signature_invalid"  # type: ignore[union-attr]


def test_invalid_policy_keeps_the_last_good_one(tmp_path: Path) -> None:
    d = policy_dir(tmp_path)
    store = store_for(tmp_path, b"k" * 32)
    write_policy(d / "policy.json", {"models": {"deny": ["secret-*"]}, "lock": {"clients": True}})
    assert evaluate(env(d), store).state == "policy"
    write_policy(d / "policy.json", {"models": {"deny": []}, "lock": {"config": False}, "x": 1})
    eff = evaluate(env(d), store)
    assert eff.state == "last_good" and not eff.valid
    assert eff.policy.models.deny == ["secret-*"] and eff.policy.lock.clients
    assert eff.error is not None and eff.error.reason == "schema"
    # A fixed policy replaces it.
    write_policy(d / "policy.json", {"models": {"deny": ["other"]}})
    assert evaluate(env(d), store).policy.models.deny == ["other"]


def test_a_tampered_or_foreign_record_is_not_trusted(tmp_path: Path) -> None:
    d = policy_dir(tmp_path)
    store = store_for(tmp_path, b"k" * 32)
    write_policy(d / "policy.json", {"lock": {"clients": True}})
    evaluate(env(d), store)
    record = json.loads((tmp_path / RECORD_FILE).read_text())
    assert record["policy"] == {"lock": {"clients": True}} and len(record["mac"]) == 64
    write_policy(d / "policy.json", "{broken")
    assert evaluate(env(d), store).state == "last_good"
    # Loosened by hand (sha256 redone, MAC not): refused, everything locked.
    import hashlib

    record["policy"] = {}
    body = {k: v for k, v in record.items() if k not in ("sha256", "mac")}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    record["sha256"] = hashlib.sha256(canonical).hexdigest()
    (tmp_path / RECORD_FILE).write_text(json.dumps(record))
    eff = evaluate(env(d), store)
    assert eff.state == "locked_down" and eff.policy.lock.config
    assert store.check()[1] is not None and "MAC" in str(store.check()[1])
    # Another key (another user's, or the keyring lost): not trusted either.
    write_policy(d / "policy.json", {"lock": {"iam": True}})
    evaluate(env(d), store)
    write_policy(d / "policy.json", "{broken")
    assert evaluate(env(d), store_for(tmp_path, b"z" * 32)).state == "locked_down"
    assert evaluate(env(d), store_for(tmp_path, None)).state == "locked_down"


def test_never_good_locks_down_with_the_words(tmp_path: Path) -> None:
    from tray_agent.policy.view import build_view

    d = policy_dir(tmp_path)
    write_policy(d / "policy.json", '{"limits": {"rpm": 1')
    eff = evaluate(env(d), store_for(tmp_path, b"k" * 32))
    view = build_view(eff)
    assert view["state"] == "locked_down" and view["valid"] is False
    assert view["error"].startswith("organization policy invalid: ")
    assert all(view["locked"].values())
    assert eff.enforced() is not None and eff.enforced()["models"]["allow"] == []  # type: ignore[index]


def test_a_record_nested_to_crash_the_parser_changes_nothing(tmp_path: Path) -> None:
    # A user can write the record (it is in their data dir): deep nesting made json raise
    # RecursionError, which escaped and left the agent with no policy at all.
    d = policy_dir(tmp_path)
    store = store_for(tmp_path, b"k" * 32)
    (tmp_path / RECORD_FILE).write_text("[" * 200_000)
    write_policy(d / "policy.json", {"models": {"deny": ["demo-chat"]}})
    eff = evaluate(env(d), store)
    assert eff.state == "policy" and eff.policy.models.deny == ["demo-chat"]
    write_policy(d / "policy.json", "{oops")
    (tmp_path / RECORD_FILE).write_text("[" * 200_000)
    assert evaluate(env(d), store).state == "locked_down"


@pytest.mark.parametrize(
    "content",
    [
        '{"limits": {"rpm": ' + "1" * 5000 + "}}",  # more digits than Python converts
        '{"models": ' + "[" * 900 + "]" * 900 + "}",  # deep enough to crash a recursive walk
    ],
)
def test_hostile_policy_content_is_an_error_not_a_crash(tmp_path: Path, content: str) -> None:
    d = policy_dir(tmp_path)
    write_policy(d / "policy.json", content)
    eff = evaluate(env(d), store_for(tmp_path, b"k" * 32))
    assert eff.state == "locked_down" and eff.error is not None
    assert eff.error.reason == "syntax"


def test_a_policy_that_cannot_be_evaluated_locks_everything() -> None:
    from tray_agent.policy.load import unevaluable
    from tray_agent.policy.view import build_view

    view = build_view(unevaluable(RuntimeError("boom")))
    assert view["state"] == "locked_down" and all(view["locked"].values())
    assert view["effective"]["models"]["allow"] == []
    assert "cannot be evaluated (RuntimeError)" in str(view["error"])
