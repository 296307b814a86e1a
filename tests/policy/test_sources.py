"""Where policy comes from: merge order, every refusal reason, the env directory rule."""

# Policy files must be world-readable, and some tests make them writable on purpose.
# ruff: noqa: S103

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.helpers.privileges import as_nobody
from tests.policy.policy_files import needs_root, policy_dir, write_policy
from tray_agent.policy.load import evaluate
from tray_agent.policy.merge import merge

pytestmark = needs_root


def env(d: Path) -> dict[str, str]:
    return {"LITELLM_BRIDGE_POLICY_DIR": str(d)}


def test_drop_ins_merge_in_name_order_per_key(tmp_path: Path) -> None:
    d = policy_dir(tmp_path)
    write_policy(d / "policy.json", {"limits": {"rpm": 10, "tpm": 100}, "models": {"deny": ["a"]}})
    write_policy(d / "policy.d" / "20-late.json", {"limits": {"rpm": 30}})
    write_policy(
        d / "policy.d" / "10-early.json", {"limits": {"rpm": 20}, "models": {"deny": ["b", "c"]}}
    )
    write_policy(d / "policy.d" / "notes.txt", "not json at all")
    eff = evaluate(env(d))
    assert eff.state == "policy", eff.problems
    assert eff.policy.limits.rpm == 30  # the last drop-in by name wins
    assert eff.policy.limits.tpm == 100  # untouched keys stay from earlier sources
    assert eff.policy.models.deny == ["b", "c"]  # lists are replaced, not concatenated
    assert eff.origins["limits.rpm"] == str(d / "policy.d" / "20-late.json")
    assert eff.origins["limits.tpm"] == str(d / "policy.json")
    assert eff.sources == [
        str(d / "policy.json"),
        str(d / "policy.d" / "10-early.json"),
        str(d / "policy.d" / "20-late.json"),
    ]


def test_merge_replaces_a_subtree_and_its_origins() -> None:
    merged, origins = merge(
        [("a", {"limits": {"per_model": {"x": {"rpm": 1}}}}), ("b", {"limits": {"per_model": 5}})]
    )
    assert merged == {"limits": {"per_model": 5}}
    assert origins == {"limits.per_model": "b"}


def test_no_source_means_no_policy(tmp_path: Path) -> None:
    eff = evaluate(env(policy_dir(tmp_path)))
    assert eff.state == "none" and eff.valid and eff.enforced() is None
    assert not eff.policy.lock.any


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda f: os.chown(f, 1000, 1000), "not_admin_owned"),
        (lambda f: os.chmod(f, 0o664), "writable"),
        (lambda f: os.chmod(f, 0o646), "writable"),
        (lambda f: os.chmod(f.parent, 0o775), "parent_writable"),
        (lambda f: os.chown(f.parent, 1000, 0), "parent_writable"),
        (lambda f: os.chmod(f.parent.parent, 0o777), "parent_writable"),
    ],
)
def test_a_source_a_non_admin_could_write_is_refused(tmp_path: Path, change, reason) -> None:
    root = tmp_path / "up"
    root.mkdir(mode=0o755)
    d = policy_dir(root)
    f = write_policy(d / "policy.json", {"limits": {"rpm": 5}})
    assert evaluate(env(d)).state == "policy"
    change(f)
    eff = evaluate(env(d))
    assert eff.state == "locked_down"
    assert eff.refused is not None and eff.refused.reason == reason, eff.problems
    assert eff.policy.lock.config and eff.policy.models.allow == []


def test_a_writable_drop_in_directory_is_refused(tmp_path: Path) -> None:
    d = policy_dir(tmp_path)
    write_policy(d / "policy.d" / "10.json", {"limits": {"rpm": 5}})
    os.chmod(d / "policy.d", 0o777)
    eff = evaluate(env(d))
    assert eff.refused is not None and eff.refused.reason == "parent_writable"


def test_symlink_outside_the_policy_directory_is_refused(tmp_path: Path) -> None:
    d = policy_dir(tmp_path)
    elsewhere = write_policy(policy_dir(tmp_path, "elsewhere") / "p.json", {"limits": {"rpm": 5}})
    (d / "policy.json").symlink_to(elsewhere)
    eff = evaluate(env(d))
    assert eff.refused is not None and eff.refused.reason == "symlink"
    # A link inside the directory is followed (and its target checked like any file).
    (d / "policy.json").unlink()
    write_policy(d / "base.json", {"limits": {"rpm": 7}})
    (d / "policy.json").symlink_to(d / "base.json")
    eff = evaluate(env(d))
    assert eff.state == "policy" and eff.policy.limits.rpm == 7


def test_huge_and_special_files_are_refused(tmp_path: Path) -> None:
    d = policy_dir(tmp_path)
    write_policy(d / "policy.json", b"{" + b" " * (2 << 20) + b"}")
    eff = evaluate(env(d))
    assert eff.refused is not None and eff.refused.reason == "too_large"
    (d / "policy.json").unlink()
    os.mkfifo(d / "policy.json", 0o644)
    eff = evaluate(env(d))
    assert eff.refused is not None and eff.refused.reason == "not_regular"


@pytest.mark.parametrize(
    ("data", "reason", "words"),
    [
        (b'{"limits": {"rpm": 5,}}', "syntax", "1:22"),
        (b'{\n  "limits": {\n    "rpm": }\n}', "syntax", "3:12"),
        (b'{"limits": {"rpm": 5}} \xff', "encoding", "UTF-8"),
        (b'{"limits": {"rpm": 5, "rpm": 0}}', "duplicate_key", "rpm"),
        (b'{"limits": {"rpm": NaN}}', "non_finite", "NaN"),
        (b'{"limits": {"tpm": Infinity}}', "non_finite", "Infinity"),
        (b"[1, 2]", "not_object", "object"),
        (b'{"limit": {"rpm": 5}}', "schema", "limit"),
        (b'{"limits": {"rpm": "5"}}', "schema", "limits.rpm"),
        (b'{"limits": {"rpm": -1}}', "schema", "greater than or equal to 0"),
        (b'{"quota": {"timezone": "Mars/Olympus"}}', "schema", "unknown time zone"),
    ],
)
def test_invalid_content_is_an_error_naming_the_place(
    tmp_path: Path, data: bytes, reason: str, words: str
) -> None:
    d = policy_dir(tmp_path)
    write_policy(d / "policy.json", {})
    write_policy(d / "policy.d" / "50.json", data)
    eff = evaluate(env(d))
    assert eff.state == "locked_down"
    assert eff.error is not None and eff.error.reason == reason
    assert words in str(eff.error)
    assert str(d / "policy.d" / "50.json") in str(eff.error)


def test_env_directory_is_ignored_when_a_machine_policy_exists(
    tmp_path: Path, empty_machine_dir: Path
) -> None:
    mine = policy_dir(tmp_path, "mine")
    write_policy(mine / "policy.json", {})
    assert evaluate(env(mine)).location.directory == mine
    write_policy(empty_machine_dir / "policy.json", {"lock": {"clients": True}})
    eff = evaluate(env(mine))
    assert eff.location.directory == empty_machine_dir and eff.location.env_ignored
    assert eff.policy.lock.clients
    # A broken machine policy still counts: the user's directory does not replace it.
    write_policy(empty_machine_dir / "policy.json", "{oops")
    eff = evaluate(env(mine))
    assert eff.location.machine and eff.state == "locked_down"
    # A drop-in alone is a machine policy too.
    (empty_machine_dir / "policy.json").unlink()
    write_policy(empty_machine_dir / "policy.d" / "x.json", {"limits": {"rpm": 1}})
    assert evaluate(env(mine)).policy.limits.rpm == 1


def test_a_machine_directory_the_user_cannot_look_into_locks_everything(
    tmp_path: Path, empty_machine_dir: Path
) -> None:
    # Root-owned and not searchable: to a user it cannot say whether a policy is there, so it
    # must not read as "no policy" (which would unlock everything); the user's own directory
    # does not replace it either.
    write_policy(empty_machine_dir / "policy.json", {"limits": {"rpm": 5}})
    mine = policy_dir(tmp_path, "mine")
    write_policy(mine / "policy.json", {})
    empty_machine_dir.chmod(0)
    try:
        env = {
            **os.environ,
            "LITELLM_BRIDGE_HOME": str(tmp_path / "home"),
            "LITELLM_BRIDGE_POLICY_DIR": str(mine),
        }
        shown = as_nobody([sys.executable, "-m", "tray_agent", "policy", "show", "--json"], env)
    finally:
        empty_machine_dir.chmod(0o755)
    assert shown.returncode == 0, shown.stderr
    doc = json.loads(shown.stdout)
    assert doc["state"] == "locked_down" and doc["reason"] == "unreadable"
    assert doc["directory"] == str(empty_machine_dir) and doc["env_ignored"]
    assert all(doc["locked"].values())
    # Readable again: the policy in it applies.
    assert evaluate({}).policy.limits.rpm == 5
