"""Every IAM call is bounded: one total deadline, a size cap, deep JSON refused clearly.

The stand-in IAM trickles its answer one byte at a time, sends huge bodies (announced or
not) and deeply nested JSON; both dialects, sign-in and refresh, over HTTP and HTTPS.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agentproc import env_for, token_login
from tests.standins.iam import StandinIam, make_test_ca
from tests.token.conftest import (
    EMPLOYEE,
    OAUTH_ENV,
    PASSWORD,
    json_profile,
    make_json_iam,
    make_oauth_iam,
)
from tray_agent.paths import Paths
from tray_agent.token.iam import (
    MAX_RESPONSE_BYTES,
    Grant,
    Iam,
    IamResponseError,
    TransientIamError,
    make_iam,
)

pytestmark = pytest.mark.timeout(120)

TIMEOUT = 2.0
# Behaviour, not a benchmark: well above timeout + slack, far below "minutes".
UPPER_BOUND = 4 * TIMEOUT

DIALECTS: dict[str, Callable[[str], Iam]] = {
    "json": lambda url: make_json_iam(url, timeout=TIMEOUT),
    "json-ttl": lambda url: make_json_iam(url, path="/json/login-ttl", timeout=TIMEOUT),
    "oauth2-password": lambda url: make_oauth_iam(url, timeout=TIMEOUT),
}


@pytest.fixture(params=sorted(DIALECTS))
def dialect(request: pytest.FixtureRequest) -> Callable[[str], Iam]:
    return DIALECTS[request.param]


def timed(fn: Callable[[], Any]) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        fn()
    except Exception as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


def test_trickled_answer_hits_the_total_deadline(
    standin: StandinIam, dialect: Callable[[str], Iam]
) -> None:
    # 1 byte every 0.5 s: each read succeeds well inside any per-read timeout.
    standin.fault(1, trickle=0.5)
    exc, took = timed(lambda: dialect(standin.url).login(EMPLOYEE, PASSWORD))
    assert isinstance(exc, TransientIamError), exc
    assert f"did not answer within {TIMEOUT:g} s" in str(exc) and standin.url in str(exc)
    assert TIMEOUT * 0.9 <= took < UPPER_BOUND


def test_audit_case_two_seconds_per_byte_with_a_five_second_timeout(
    standin: StandinIam,
) -> None:
    # The audit's case: every read arrives within the 5 s, so a per-read timeout never fires.
    standin.fault(1, trickle=2.0)
    iam = make_json_iam(standin.url, timeout=5.0)
    exc, took = timed(lambda: iam.login(EMPLOYEE, PASSWORD))
    assert isinstance(exc, TransientIamError) and "did not answer within 5 s" in str(exc)
    assert took < 4 * 5.0


def test_refresh_goes_through_the_same_deadline(standin: StandinIam) -> None:
    iam = make_oauth_iam(standin.url, timeout=TIMEOUT)
    grant = iam.login(EMPLOYEE, PASSWORD)
    standin.fault(1, trickle=0.5, path="/oauth/token")
    exc, took = timed(lambda: iam.refresh(grant))
    assert isinstance(exc, TransientIamError) and "did not answer within" in str(exc)
    assert took < UPPER_BOUND


def test_trickle_over_tls_hits_the_deadline(tmp_path: Path) -> None:
    tls = make_test_ca(tmp_path / "tls")
    with StandinIam(users={EMPLOYEE: PASSWORD}, tls=tls) as server:
        iam = make_iam(json_profile(server.url, timeout=TIMEOUT, ca_bundle=str(tls.ca_pem)), {})
        assert isinstance(iam.login(EMPLOYEE, PASSWORD), Grant)  # TLS itself works
        server.fault(1, trickle=0.5)
        exc, took = timed(lambda: iam.login(EMPLOYEE, PASSWORD))
    assert isinstance(exc, TransientIamError) and "did not answer within" in str(exc)
    assert took < UPPER_BOUND


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_huge_answer_is_refused_without_reading_it(
    standin: StandinIam, dialect: Callable[[str], Iam], declared: bool
) -> None:
    standin.fault(1, huge=300_000_000, huge_declared=declared)
    exc, took = timed(lambda: dialect(standin.url).login(EMPLOYEE, PASSWORD))
    assert isinstance(exc, IamResponseError), exc
    assert "too large" in str(exc) and standin.url in str(exc)
    assert f"{MAX_RESPONSE_BYTES:,} bytes" in str(exc)
    assert took < UPPER_BOUND  # 300 MB were not read


def test_deeply_nested_json_is_a_clear_error(
    standin: StandinIam, dialect: Callable[[str], Iam]
) -> None:
    standin.fault(1, deep=100_000)
    with pytest.raises(IamResponseError, match="nested too deeply") as err:
        dialect(standin.url).login(EMPLOYEE, PASSWORD)
    assert standin.url in str(err.value)


def test_deeply_nested_error_body_still_reports_the_status(standin: StandinIam) -> None:
    standin.fault(1, deep=100_000, status=503)
    with pytest.raises(TransientIamError, match="HTTP 503"):
        make_json_iam(standin.url).login(EMPLOYEE, PASSWORD)


def test_an_answer_just_under_the_cap_is_read(standin: StandinIam) -> None:
    standin.fault(1, huge=MAX_RESPONSE_BYTES - 10)
    # Read whole and parsed: it is JSON, only without a token where the profile says.
    with pytest.raises(IamResponseError, match=r"has no .data\.session\.jwt."):
        make_json_iam(standin.url).login(EMPLOYEE, PASSWORD)


@pytest.fixture
def configured(home: Paths, standin: StandinIam) -> Iterator[Paths]:
    config = {
        "model_list": [
            {
                "model_name": "internal",
                "litellm_params": {"model": "hosted_vllm/internal", "api_base": "http://x/v1"},
            }
        ],
        "bridge": {"iam": json_profile(standin.url, timeout=TIMEOUT)},
    }
    home.config_file.write_text(yaml.safe_dump(config))
    yield home


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"trickle": 1.0}, "did not answer within 2 s"),
        ({"huge": 300_000_000}, "too large"),
        ({"deep": 100_000}, "nested too deeply"),
    ],
    ids=["trickle", "huge", "deep"],
)
def test_token_login_reports_transport_faults_clearly(
    configured: Paths, standin: StandinIam, fault: dict[str, Any], expected: str
) -> None:
    root = configured.config_dir.parent
    standin.fault(1, **fault)
    started = time.monotonic()
    result = token_login(root, env_for(root, **OAUTH_ENV), PASSWORD + "\n")
    took = time.monotonic() - started
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert expected in result.stderr and standin.url in result.stderr
    # The child's own start-up (a few seconds on a busy machine) comes on top of the call.
    assert took < UPPER_BOUND + 15
