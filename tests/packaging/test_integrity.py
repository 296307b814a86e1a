"""Verification of a signed bundle: a real manifest signed by the build's signing code."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from installer.sign import sign_bundle
from tray_agent.integrity import verify as verify_mod
from tray_agent.integrity.manifest import MANIFEST_NAME, SIGNATURE_NAME, Manifest
from tray_agent.integrity.verify import IntegrityError, verify_bundle


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    verify_mod._known_good.clear()


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
