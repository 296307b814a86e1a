"""Verification of a signed bundle: a real manifest signed by the build's signing code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from installer.sign import sign_bundle
from tray_agent.integrity import verify as verify_mod
from tray_agent.integrity.manifest import MANIFEST_NAME, SIGNATURE_NAME, Manifest
from tray_agent.integrity.verify import IntegrityError, verify_bundle


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    verify_mod.forget_verified()
    yield
    verify_mod.remember_verified(None)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def app(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    root = tmp_path / "litellm-bridge"
    (root / "_internal").mkdir(parents=True)
    (root / "litellm-bridge").write_bytes(b"\x7fELF agent")
    (root / "_internal" / "libpython.so").write_bytes(os.urandom(4096))
    side = root / "sidecar"
    (side / "_internal" / "litellm").mkdir(parents=True)
    (side / "litellm-bridge-sidecar").write_bytes(b"\x7fELF sidecar")
    (side / "_internal" / "base_library.zip").write_bytes(os.urandom(3 << 20))
    (side / "_internal" / "litellm" / "data.json").write_text('{"a": 1}')
    sign_bundle(root, key)
    return root


def test_signed_bundle_verifies(app: Path, key: Ed25519PrivateKey) -> None:
    result = verify_bundle(app, app / "sidecar", key.public_key())
    assert result.files == 3
    assert result.hashed == 3


def test_manifest_lists_every_shipped_file_but_itself(app: Path) -> None:
    manifest = Manifest.decode((app / MANIFEST_NAME).read_bytes())
    assert sorted(manifest.files) == [
        "_internal/libpython.so",
        "litellm-bridge",
        "sidecar/_internal/base_library.zip",
        "sidecar/_internal/litellm/data.json",
        "sidecar/litellm-bridge-sidecar",
    ]


def test_one_flipped_byte_is_refused(app: Path, key: Ed25519PrivateKey) -> None:
    target = app / "sidecar" / "_internal" / "base_library.zip"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"base_library\.zip was modified after signing"):
        verify_bundle(app, app / "sidecar", key.public_key())


def test_missing_signature_is_refused(app: Path, key: Ed25519PrivateKey) -> None:
    (app / SIGNATURE_NAME).unlink()
    with pytest.raises(IntegrityError, match="not signed"):
        verify_bundle(app, app / "sidecar", key.public_key())


def test_missing_manifest_is_refused(app: Path, key: Ed25519PrivateKey) -> None:
    (app / MANIFEST_NAME).unlink()
    with pytest.raises(IntegrityError, match="no manifest"):
        verify_bundle(app, app / "sidecar", key.public_key())


def test_edited_manifest_is_refused(app: Path, key: Ed25519PrivateKey) -> None:
    path = app / MANIFEST_NAME
    path.write_bytes(path.read_bytes().replace(b'"format":1', b'"format":1 '))
    with pytest.raises(IntegrityError, match=r"signature .* does not match"):
        verify_bundle(app, app / "sidecar", key.public_key())


def test_bundle_signed_with_another_key_is_refused(app: Path) -> None:
    other = Ed25519PrivateKey.generate()
    with pytest.raises(IntegrityError, match="signed by someone else"):
        verify_bundle(app, app / "sidecar", other.public_key())


def test_added_file_is_refused(app: Path, key: Ed25519PrivateKey) -> None:
    (app / "sidecar" / "_internal" / "sitecustomize.py").write_text("print('hi')\n")
    with pytest.raises(IntegrityError, match=r"unexpected file .*sitecustomize\.py"):
        verify_bundle(app, app / "sidecar", key.public_key())


def test_removed_file_is_refused(app: Path, key: Ed25519PrivateKey) -> None:
    (app / "sidecar" / "_internal" / "litellm" / "data.json").unlink()
    with pytest.raises(IntegrityError, match=r"missing .*data\.json"):
        verify_bundle(app, app / "sidecar", key.public_key())


def test_agent_files_outside_the_sidecar_are_not_hashed_for_a_launch(
    app: Path, key: Ed25519PrivateKey
) -> None:
    (app / "_internal" / "libpython.so").write_bytes(b"changed")
    verify_bundle(app, app / "sidecar", key.public_key())
    with pytest.raises(IntegrityError):
        verify_bundle(app, None, key.public_key())


def test_second_launch_rehashes_only_changed_files(app: Path, key: Ed25519PrivateKey) -> None:
    verify_bundle(app, app / "sidecar", key.public_key())
    again = verify_bundle(app, app / "sidecar", key.public_key())
    assert again.hashed == 0
    target = app / "sidecar" / "_internal" / "litellm" / "data.json"
    st = target.stat()
    target.write_text('{"a": 2}')
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    with pytest.raises(IntegrityError, match="modified"):
        verify_bundle(app, app / "sidecar", key.public_key())


def test_no_builtin_key_is_refused(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_mod, "builtin_public_key", lambda: None)
    with pytest.raises(IntegrityError, match="no signing key"):
        verify_bundle(app, app / "sidecar")


def test_integrity_error_is_an_oserror() -> None:
    # The agent core turns OSError from spawning into its error state.
    assert issubclass(IntegrityError, OSError)


def test_frozen_supervisor_refuses_a_modified_sidecar_before_spawning(
    app: Path, key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tray_agent.supervisor import sidecar as supervisor

    (app / "sidecar" / "litellm-bridge-sidecar").write_bytes(b"\x7fELF evil")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app / "litellm-bridge"))
    monkeypatch.delenv("LITELLM_BRIDGE_SIDECAR_CMD", raising=False)
    monkeypatch.setattr(verify_mod, "builtin_public_key", key.public_key)

    def no_spawn(*args: object, **kwargs: object) -> None:
        raise AssertionError("a modified sidecar was spawned")

    monkeypatch.setattr(supervisor.subprocess, "Popen", no_spawn)
    spec = supervisor.SpawnSpec(config_path=app / "x.yaml", master_key="k" * 32, inject={})
    with pytest.raises(OSError, match="litellm-bridge-sidecar was modified after signing"):
        supervisor.SidecarProcess(1, spec, None, None, lambda g, p: None)  # type: ignore[arg-type]


def test_whole_bundle_verifies_without_counting_the_manifest(
    app: Path, key: Ed25519PrivateKey
) -> None:
    assert verify_bundle(app, None, key.public_key()).files == 5


MAC_KEY = bytes(range(32))


def new_agent_run() -> None:
    """What a new agent process starts with: nothing hashed in memory."""
    verify_mod.forget_verified()


def test_record_lets_the_next_agent_run_skip_unchanged_files(
    app: Path, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    record = tmp_path / "data" / "integrity-verified.json"
    verify_mod.remember_verified(record, MAC_KEY)
    assert verify_bundle(app, app / "sidecar", key.public_key()).hashed == 3
    assert record.is_file() and oct(record.stat().st_mode & 0o777) == "0o600"
    new_agent_run()
    assert verify_bundle(app, app / "sidecar", key.public_key()).hashed == 0

    target = app / "sidecar" / "_internal" / "litellm" / "data.json"
    st = target.stat()
    target.write_text('{"a": 2}')
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    new_agent_run()
    with pytest.raises(IntegrityError, match=r"data\.json was modified"):
        verify_bundle(app, app / "sidecar", key.public_key())


def test_an_edited_record_is_not_trusted(app: Path, key: Ed25519PrivateKey, tmp_path: Path) -> None:
    record = tmp_path / "integrity-verified.json"
    verify_mod.remember_verified(record, MAC_KEY)
    verify_bundle(app, app / "sidecar", key.public_key())
    target = app / "sidecar" / "_internal" / "base_library.zip"
    data = bytearray(target.read_bytes())
    data[7] ^= 0x01
    target.write_bytes(bytes(data))
    # Someone rewrites the record so the modified file's new stat looks verified.
    body = json.loads(record.read_text())
    st = target.stat()
    body["files"]["sidecar/_internal/base_library.zip"] = [
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
    ]
    record.write_text(json.dumps(body))
    new_agent_run()
    with pytest.raises(IntegrityError, match=r"base_library\.zip was modified"):
        verify_bundle(app, app / "sidecar", key.public_key())


def test_a_record_made_with_another_key_or_for_another_manifest_is_ignored(
    app: Path, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    record = tmp_path / "integrity-verified.json"
    verify_mod.remember_verified(record, MAC_KEY)
    verify_bundle(app, app / "sidecar", key.public_key())
    new_agent_run()
    verify_mod.remember_verified(record, bytes(32))
    assert verify_bundle(app, app / "sidecar", key.public_key()).hashed == 3

    (app / "sidecar" / "_internal" / "litellm" / "data.json").write_text('{"a": 3}')
    sign_bundle(app, key)  # an update: a new manifest
    new_agent_run()
    assert verify_bundle(app, app / "sidecar", key.public_key()).hashed == 3


def test_unreadable_record_means_a_full_hash_not_an_error(
    app: Path, key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    record = tmp_path / "integrity-verified.json"
    record.write_text("{not json")
    verify_mod.remember_verified(record, MAC_KEY)
    assert verify_bundle(app, app / "sidecar", key.public_key()).hashed == 3
    assert json.loads(record.read_text())["version"] == verify_mod.RECORD_VERSION


def test_full_verification_on_request_keeps_no_record(
    app: Path, key: Ed25519PrivateKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITELLM_BRIDGE_VERIFY", "full")
    record = tmp_path / "integrity-verified.json"
    verify_mod.remember_verified(record, MAC_KEY)
    verify_bundle(app, app / "sidecar", key.public_key())
    assert not record.exists()


RUN_ONCE = """
import sys
from pathlib import Path
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from tray_agent.integrity import verify
app, record, pub = Path(sys.argv[1]), Path(sys.argv[2]), bytes.fromhex(sys.argv[3])
verify.remember_verified(record, bytes(range(32)))
print(verify.verify_bundle(app, app / "sidecar", Ed25519PublicKey.from_public_bytes(pub)).hashed)
"""


def test_two_agent_processes_hash_once(app: Path, key: Ed25519PrivateKey, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    record = tmp_path / "integrity-verified.json"
    runs = [
        subprocess.run(
            [sys.executable, "-c", RUN_ONCE, str(app), str(record), pub],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[2],
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["3", "0"]
