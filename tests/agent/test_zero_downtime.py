"""Short load-harness run: no request fails or is refused while config and token change."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import run_harness

pytestmark = [pytest.mark.timeout(1200), pytest.mark.slow]


def test_no_request_lost_across_config_swaps_and_token_rotations(tmp_path: Path) -> None:
    report = run_harness(
        clients=8,
        duration=60,
        config_every=20,
        token_every=10,
        workdir=tmp_path,
        log=print,
        min_changes=2,
    )
    print(report.table())
    assert len(report.samples) > 100
    assert report.failures == [], [s.error for s in report.failures[:5]]
    assert report.refused == []
    assert len(report.changes) >= 2
    assert all(c.servable for c in report.changes), [c.model for c in report.changes]
    assert report.tokens_seen >= 3, "the token did not rotate while serving"
    assert report.upstream_without_token == 0
    assert len(report.sidecar_pids) >= 2, "no swap happened"
