"""Secrets are masked in every form they take; env references stay readable."""

from __future__ import annotations

import base64
import json
import urllib.parse

from hypothesis import given
from hypothesis import strategies as st

from tray_agent.logs.redact import MASK, Redactor


def test_registered_values_are_masked_raw_json_and_url_encoded() -> None:
    r = Redactor()
    secret = 'pa"ss wo\\rd/+&='
    r.add(secret)
    for form in (secret, json.dumps(secret), urllib.parse.quote_plus(secret)):
        assert secret not in r.redact(f"x {form} y")
        assert json.dumps(secret)[1:-1] not in r.redact(f"x {form} y")


def test_basic_auth_of_a_client_secret_is_masked() -> None:
    r = Redactor()
    r.add_basic_auth("bridge", "client-s3cret")
    header = base64.b64encode(b"bridge:client-s3cret").decode()
    assert header not in r.redact(f"Authorization: Basic {header}")
    assert header not in Redactor().redact(f"auth=Basic {header}")


def test_patterns_catch_headers_keys_and_fields() -> None:
    r = Redactor()
    text = (
        "Authorization: Bearer abcdefghijkl x-api-key: zzzzzzzz1 sk-abcdefghijk "
        'password="hunter22" refresh_token=rt-123456 api_key=plain-secret'
    )
    out = r.redact(text)
    for s in ("abcdefghijkl", "zzzzzzzz1", "abcdefghijk", "hunter22", "rt-123456", "plain-secret"):
        assert s not in out
    assert MASK in out


def test_env_references_are_not_secrets() -> None:
    r = Redactor()
    text = 'api_key: os.environ/CORP_KEY "token": "os.environ/LITELLM_BRIDGE_TOKEN"'
    assert r.redact(text) == text


@given(
    st.text(min_size=6, max_size=40).filter(
        # A value that is part of the mask itself cannot be told apart from the mask.
        lambda s: s.strip() == s and s and s not in MASK
    )
)
def test_any_registered_value_never_survives(secret: str) -> None:
    r = Redactor()
    r.add(secret)
    assert secret not in r.redact(f"before {secret} after {json.dumps(secret)}")
