"""The error summary: kinds from request events and log records, counts, persistence."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tray_agent.logs.errors import (
    ErrorSummary,
    ErrorTap,
    classify_request,
    classify_token_error,
    read_saved,
)


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"status": 200}, None),
        ({"status": 401, "error": "HTTPException"}, "token_expired"),
        ({"status": 401, "error": "AuthenticationError"}, "upstream_401"),
        ({"status": 401, "error": "ClientKeyRejected"}, "client_key"),
        ({"status": 500, "error": "InternalServerError"}, "upstream_5xx"),
        ({"status": 200, "error": "InternalServerError"}, "upstream_5xx"),
        ({"status": 200, "stream": True, "error": "ReadError"}, "upstream_unreachable"),
        ({"status": 500, "error": "APIConnectionError"}, "upstream_unreachable"),
        ({"status": 400, "error": "ProxyModelNotFoundError"}, "request_refused"),
        ({"status": 403, "error": "PolicyRefused", "refused": "model_denied"}, "policy_refused"),
        ({"status": 429, "error": "PolicyRefused", "refused": "rpm"}, "policy_refused"),
        ({"status": 403, "error": "PermissionDeniedError"}, "upstream_401"),
    ],
)
def test_request_events_are_classified(payload: dict[str, object], kind: str | None) -> None:
    assert classify_request(payload) == kind


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("cannot reach the IAM at https://x (refused); check the network", "iam_unreachable"),
        ("the IAM at https://x did not answer within 5 s", "iam_unreachable"),
        ("the TLS certificate of https://x is not trusted (...)", "iam_untrusted_ca"),
        ("the IAM at https://x refused the refresh token (HTTP 400)", "iam_refused"),
        ("no token to refresh: sign in", "token_expired"),
        ("the IAM at https://x answered HTTP 503", "iam_error"),
    ],
)
def test_token_errors_are_classified(message: str, kind: str) -> None:
    assert classify_token_error(message) == kind


def test_log_records_feed_counts_and_the_summary_survives_a_restart(tmp_path: Path) -> None:
    now = [100.0]
    summary = ErrorSummary(clock=lambda: now[0])
    logger = logging.getLogger("tray_agent.test_errors")
    logger.propagate = False
    logger.addHandler(ErrorTap(summary))
    try:
        err = "port 4000 on 127.0.0.1 is already in use by pid 1 (nc)"
        logger.error("sidecar.error", extra={"fields": {"error": err}})
        logger.error("sidecar.error", extra={"fields": {"error": err}})
        logger.error("sidecar.crashed", extra={"fields": {"pid": 5, "returncode": -9}})
        logger.info("sidecar.ready")
    finally:
        logger.handlers.clear()
    kinds = {e["kind"]: e for e in summary.entries()}
    assert kinds["port_busy"]["count"] == 2 and "bridge.port" in kinds["port_busy"]["hint"]
    assert kinds["sidecar_crash"]["count"] == 1
    summary.save(tmp_path / "errors.json")
    again = ErrorSummary()
    again.load(read_saved(tmp_path / "errors.json"))
    assert {e["kind"] for e in again.entries()} == {"port_busy", "sidecar_crash"}


def test_a_wrong_client_key_is_not_blamed_on_the_upstream() -> None:
    from sidecar.allowlist import CLIENT_KEY_ERROR

    assert classify_request({"status": 401, "error": CLIENT_KEY_ERROR}) == "client_key"
