"""Compressed IAM answers stay inside the size cap: one gzip/deflate layer, nothing else.

The stand-in IAM serves gzip bombs (one layer and gzip inside gzip) and encodings the bridge
does not read; ``token login`` runs as a child process whose peak memory is measured
(``os.wait4``) under an address-space limit, so a regression fails with a MemoryError instead
of eating the machine's memory.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agentproc import ROOT, env_for
from tests.standins.iam import StandinIam
from tests.token.conftest import EMPLOYEE, PASSWORD, json_profile, make_json_iam
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore
from tray_agent.token.iam import MAX_RESPONSE_BYTES, IamResponseError, iam_request

pytestmark = pytest.mark.timeout(300)

# A sign-in child needs well under this; without the bounded decoding a bomb needs GBs.
ADDRESS_SPACE_LIMIT = 1536 * 1024 * 1024
# The cap is 1 MiB: a child that reads a bomb may grow by that, not by the bomb's size.
PEAK_GROWTH_LIMIT = 32 * 1024 * 1024
PEAK_ABSOLUTE_LIMIT = 300 * 1024 * 1024


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_rss: int  # bytes


def login_measured(home: Path) -> Measured:
    """``token login`` as a child under an address-space limit, with its own peak RSS."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))

    args = ["token", "login", "--employee-id", EMPLOYEE, "--password-stdin"]
    out_path, err_path = home / "login.stdout", home / "login.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tray_agent", *args],
            env=env_for(home),
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            cwd=ROOT,
            preexec_fn=limit,  # only setrlimit between fork and exec
        )
    assert proc.stdin is not None
    proc.stdin.write((PASSWORD + "\n").encode())
    proc.stdin.close()
    watchdog = threading.Timer(120, proc.kill)
    watchdog.start()
    try:
        # Reaped here rather than by Popen: wait4 gives this child's own rusage.
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        proc.returncode,
        out_path.read_text(errors="replace"),
        err_path.read_text(errors="replace"),
        usage.ru_maxrss * 1024,  # kilobytes on Linux
    )


@pytest.fixture
def configured(home: Paths, standin: StandinIam) -> Iterator[Path]:
    config = {
        "model_list": [
            {
                "model_name": "internal",
                "litellm_params": {"model": "hosted_vllm/internal", "api_base": "http://x/v1"},
            }
        ],
        "bridge": {"iam": json_profile(standin.url, timeout=10.0)},
    }
    home.config_file.write_text(yaml.safe_dump(config))
    yield home.config_dir.parent


def test_a_normal_gzip_answer_still_signs_in(
    configured: Path, standin: StandinIam, secrets: SecretStore
) -> None:
    standin.fault(1, gzip=1)
    result = login_measured(configured)
    assert result.returncode == 0, result.stderr
    assert "signed in as e1001" in result.stdout
    assert secrets.get("token") == standin.issued[-1]
    assert standin.last_headers.get("accept-encoding") == "identity"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"bomb": 2048, "gzip": 2}, "Content-Encoding 'gzip, gzip'"),
        ({"bomb": 900, "gzip": 1}, "once decompressed (gzip)"),
    ],
    ids=["gzip-in-gzip-2GiB", "gzip-900MiB"],
)
def test_gzip_bomb_is_refused_and_the_process_stays_small(
    configured: Path,
    standin: StandinIam,
    secrets: SecretStore,
    fault: dict[str, Any],
    expected: str,
) -> None:
    # The same command answered normally first: its peak is what a sign-in costs.
    baseline = login_measured(configured)
    assert baseline.returncode == 0, baseline.stderr
    secrets.delete("token")
    standin.fault(1, **fault)
    result = login_measured(configured)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert result.peak_rss < PEAK_ABSOLUTE_LIMIT, result.peak_rss
    assert result.peak_rss - baseline.peak_rss < PEAK_GROWTH_LIMIT, (
        result.peak_rss,
        baseline.peak_rss,
    )
    assert expected in result.stderr and standin.url + "/json/login" in result.stderr
    assert secrets.get("token") is None


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
def test_unknown_or_stacked_encoding_is_a_clear_error(
    configured: Path, standin: StandinIam, secrets: SecretStore, encoding: str
) -> None:
    standin.fault(1, encoding=encoding, body=b"\x28\xb5\x2f\xfd not readable")
    result = login_measured(configured)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"Content-Encoding {encoding!r}" in result.stderr
    assert standin.url + "/json/login" in result.stderr
    assert secrets.get("token") is None


# -- the transport alone -----------------------------------------------------------------


def test_deflate_with_and_without_zlib_header_is_read(standin: StandinIam) -> None:
    answer = b'{"ok": true}'
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    for body in (zlib.compress(answer), raw.compress(answer) + raw.flush()):
        standin.fault(1, encoding="deflate", body=body)
        reply = iam_request("POST", standin.url + "/json/login", timeout=5.0)
        assert reply.content == answer


def test_a_corrupt_gzip_answer_is_a_clear_error(standin: StandinIam) -> None:
    standin.fault(1, encoding="gzip", body=b"\x1f\x8b\x08\x00 this is not deflate data")
    with pytest.raises(IamResponseError, match="cannot be decompressed") as err:
        iam_request("POST", standin.url + "/json/login", timeout=5.0)
    assert standin.url in str(err.value)


def test_a_compressed_answer_just_under_the_cap_is_read(standin: StandinIam) -> None:
    padding = b"x" * (MAX_RESPONSE_BYTES - 20)
    standin.fault(1, gzip=1, body=b'{"pad": "' + padding + b'"}')
    reply = iam_request("POST", standin.url + "/json/login", timeout=5.0)
    assert len(reply.content) == MAX_RESPONSE_BYTES - 9


def test_an_error_answer_in_an_unknown_encoding_still_reports_its_status(
    standin: StandinIam,
) -> None:
    standin.fault(1, status=503, encoding="br", body=b"\x0b\x02\x80")
    with pytest.raises(Exception, match="HTTP 503") as err:
        make_json_iam(standin.url).login(EMPLOYEE, PASSWORD)
    assert standin.url in str(err.value)
