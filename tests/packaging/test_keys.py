"""Signing keys for the build: a development key per build folder, or the company's."""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from installer import keys


def test_development_key_is_created_once_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(keys.KEY_ENV, raising=False)
    first, origin = keys.signing_key(tmp_path)
    second, _ = keys.signing_key(tmp_path)
    assert origin == "development key"
    assert keys.public_raw(first) == keys.public_raw(second)
    assert (tmp_path / keys.DEV_KEY_NAME).stat().st_mode & 0o777 == 0o600


def test_company_key_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    company = Ed25519PrivateKey.generate()
    path = tmp_path / "company.pem"
    path.write_bytes(
        company.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"s3cret"),
        )
    )
    monkeypatch.setenv(keys.KEY_ENV, str(path))
    monkeypatch.setenv(keys.PASSWORD_ENV, "s3cret")
    key, origin = keys.signing_key(tmp_path / "unused")
    assert origin == str(path)
    assert keys.public_raw(key) == keys.public_raw(company)
    assert not (tmp_path / "unused").exists()


def test_unusable_company_key_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "key.pem"
    path.write_text("not a key")
    monkeypatch.setenv(keys.KEY_ENV, str(path))
    with pytest.raises(keys.SigningKeyError, match="cannot load the private key"):
        keys.signing_key(tmp_path)


def test_generated_module_holds_the_public_key(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    path = keys.write_module(key, tmp_path)
    spec = importlib.util.spec_from_file_location(keys.MODULE_NAME, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert base64.b64decode(module.PUBLIC_KEY) == keys.public_raw(key)
    assert b"PRIVATE" not in path.read_bytes()


def test_a_company_policy_key_is_built_in_beside_the_manifest_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization

    policy = Ed25519PrivateKey.generate()
    pem = tmp_path / "policy-public.pem"
    pem.write_bytes(
        policy.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    monkeypatch.setenv(keys.POLICY_KEY_ENV, str(pem))
    path = keys.write_module(Ed25519PrivateKey.generate(), tmp_path / "module")
    spec = importlib.util.spec_from_file_location(keys.MODULE_NAME, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert base64.b64decode(module.POLICY_PUBLIC_KEY) == keys.public_raw(policy)
    pem.write_text("not a key")
    with pytest.raises(keys.SigningKeyError, match="not a readable PEM public key"):
        keys.write_module(Ed25519PrivateKey.generate(), tmp_path / "other")


def test_without_a_policy_key_the_module_has_none(tmp_path: Path) -> None:
    path = keys.write_module(Ed25519PrivateKey.generate(), tmp_path)
    assert "POLICY_PUBLIC_KEY" not in path.read_text()
