"""Where the audit log meets users and admins: ``paths``, commands recording their own
actions (an admin-lock refusal, env changes, a diagnostics export), diagnostics carrying the
public key and the verify result, and ``audit hash`` for a search. Real CLI processes and
the real keyring."""

# Policy directories must be world-readable (root-owned, 0755).

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests.agentproc import cli, env_for
from tests.helpers.keyring import require_keyring
from tests.policy.policy_files import needs_root, policy_dir, write_policy
from tray_agent.audit.keys import load_signer
from tray_agent.audit.records import Identifiers
from tray_agent.paths import Paths
from tray_agent.secrets.store import open_secret_store


def events(paths: Paths) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for f in sorted(paths.audit_dir.glob("audit-*.jsonl"))
        for line in f.read_bytes().splitlines()
    ]


def test_commands_record_their_own_actions_in_one_sealed_chain(
    home: Path, paths: Paths, tmp_path: Path
) -> None:
    store = require_keyring(open_secret_store(paths.keyring_namespace))
    signer = load_signer(store, paths.audit_dir)  # what the agent does on its first start
    assert signer is not None
    shown = json.loads(cli(home, "paths", "--json").stdout)
    assert shown["audit"] == str(paths.audit_dir)
    assert cli(home, "env", "set", "CORP_PROJECT", "apollo").returncode == 0
    assert cli(home, "env", "set", "CORP_KEY", "s3cret-value-99", "--secret").returncode == 0
    assert cli(home, "env", "unset", "CORP_PROJECT").returncode == 0
    out = tmp_path / "diag.zip"
    assert cli(home, "diagnostics", "-o", str(out)).returncode == 0, "diagnostics"
    names = [e["event"] for e in events(paths)]
    assert names[0] == "audit.checkpoint"  # the first file starts anchored
    assert names[1:] == ["env.added", "env.added", "env.removed", "diagnostics.exported"]
    added = [e for e in events(paths) if e["event"] == "env.added"]
    assert added[0]["names"] == ["CORP_PROJECT"] and added[1]["names"] == ["CORP_KEY"]
    assert b"s3cret-value-99" not in b"".join(
        f.read_bytes() for f in paths.audit_dir.glob("*.jsonl")
    )
    # The bundle carries the public key and the verify result, never the log itself.
    with zipfile.ZipFile(out) as zf:
        listed = zf.namelist()
        assert f"audit/keys/{signer.key_id}.pub" in listed
        assert json.loads(zf.read("audit/verify.json"))["ok"] is True
        assert zf.read(f"audit/keys/{signer.key_id}.pub").decode().strip() == signer.public_text
        assert not [n for n in listed if n.endswith(".jsonl")]
    assert cli(home, "audit", "verify").returncode == 0


def test_audit_hash_gives_the_form_an_identifier_takes_in_a_hashed_log(
    home: Path, paths: Paths
) -> None:
    store = require_keyring(open_secret_store(paths.keyring_namespace))
    missing = cli(home, "audit", "hash", "e1001")
    assert missing.returncode != 0 and "no identifier salt" in missing.stderr
    ids = Identifiers(store)
    ids.hashed = True
    expected = ids("e1001")  # what the agent writes for this employee
    shown = cli(home, "audit", "hash", "e1001")
    assert shown.returncode == 0 and shown.stdout.strip() == expected
    assert expected.startswith("hmac-sha256:") and "e1001" not in expected


@needs_root
def test_an_admin_lock_refusal_is_recorded(home: Path, paths: Paths, tmp_path: Path) -> None:
    d = policy_dir(tmp_path)
    write_policy(d / "policy.json", {"lock": {"env": ["CORP_PROJECT"]}})
    env = env_for(home, LITELLM_BRIDGE_POLICY_DIR=str(d))
    refused = cli(home, "env", "set", "CORP_PROJECT", "x", env=env)
    assert refused.returncode == 4
    lock = [e for e in events(paths) if e["event"] == "lock.refused"]
    assert lock and lock[0]["what"] == "env:CORP_PROJECT" and lock[0]["command"] == "env"


def test_doctor_names_a_log_that_does_not_verify(home: Path, paths: Paths) -> None:
    from tray_agent.audit.log import AuditLog, log_files
    from tray_agent.secrets import MemoryStore

    log = AuditLog(paths.audit_dir, load_signer(MemoryStore(), paths.audit_dir))
    for i in range(3):
        log.append([("env.added", {"names": [f"N{i}"]})], seal=True)

    def audit_check() -> dict[str, object]:
        r = cli(home, "doctor", "--json", timeout=120)
        checks = json.loads(r.stdout)["checks"]
        return next(c for c in checks if c["id"] == "audit")

    assert audit_check()["status"] == "pass"
    f = log_files(paths.audit_dir)[0]
    f.write_bytes(f.read_bytes().replace(b'"N1"', b'"N9"'))
    failed = audit_check()
    assert failed["status"] == "fail" and "does not verify" in str(failed["detail"])
    assert f"{f}:" in str(failed["detail"])
