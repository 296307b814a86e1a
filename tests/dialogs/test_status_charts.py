"""The Status window's charts, live figures, organization and quota rows and audit slot,
read back from the widgets and from the pixels the canvases show."""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.agentproc import AgentProc, cli, write_config
from tests.conftest import free_port
from tests.dialogs.conftest import FakeServices, Harness
from tests.dialogs.test_env_status_setup import SNAP, busy_hour, metrics_after
from tests.dialogs.test_real_agent import agent_home, chat, services_for  # noqa: F401
from tray_agent.dialogs.charts import DARK, LIGHT, Chart, contrast
from tray_agent.dialogs.status import StatusDialog

pytestmark = [pytest.mark.gui, pytest.mark.timeout(400)]

NOW = 2_000_000_000.0

POLICY = {
    "state": "policy",
    "locked": {"config": True, "env": ["UPSTREAM_KEY"], "iam": False},
    "usage": {
        "requests_today": 120,
        "tokens_today": 45_000,
        "tokens_month": 10,
        "resets": {"day": NOW + 3600, "month": NOW + 86400 * 9},
        "quota": {"requests_per_day": 500, "tokens_per_day": 50_000, "tokens_per_month": None},
    },
}


def status_of(services: FakeServices, **extra: Any) -> dict[str, Any]:
    snap = copy.deepcopy(SNAP)
    snap["config"]["path"] = str(services.paths.config_file)  # type: ignore[index]
    snap.update(extra)
    return snap


def pixels_of(chart: Chart, path: Path) -> list[tuple[int, int, int]]:
    """What the canvas shows on the screen (ImageMagick's grab of its X window)."""
    from PIL import Image

    subprocess.run(
        ["import", "-window", hex(chart.canvas.winfo_id()), str(path)],
        check=True,
        timeout=20,
        capture_output=True,
    )
    raw = Image.open(path).convert("RGB").tobytes()
    return [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]


def near(px: tuple[int, int, int], color: str, slack: int = 24) -> bool:
    want = tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    return all(abs(a - b) <= slack for a, b in zip(px, want, strict=True))


def test_charts_draw_the_hour_and_follow_new_requests(
    ui: Harness, services: FakeServices, artifacts: Path
) -> None:
    services.answers["status"] = status_of(services)
    services.answers["metrics"] = metrics_after(busy_hour(NOW), NOW)
    dlg = ui.open(StatusDialog, {}, services)
    assert isinstance(dlg, StatusDialog)
    req, lat, err = (dlg.charts[k] for k in ("requests", "latency", "errors"))
    ui.until(lambda: sum(v or 0 for v in req.drawn.get("last min", [])) == 62, what="chart")
    assert len(req.drawn["last min"]) == 60
    bars = req.canvas.find_withtag("bar")
    assert len(bars) == sum(1 for v in req.drawn["last min"] if v)
    assert all(req.canvas.bbox(b)[3] - req.canvas.bbox(b)[1] > 0 for b in bars)
    assert sum(v or 0 for v in err.drawn["last min"]) == 3
    assert len(err.canvas.find_withtag("bar")) == 3
    assert len(lat.canvas.find_withtag("series:p95")) > 0
    assert {"p50", "p95"} <= set(lat.drawn)
    assert dlg.figures.get().startswith("1 request in flight · 3 open connections · 2 requests")
    assert "62 in 1 h" in req.texts() and "now" in req.texts()
    assert "last min 2" in req.texts()  # the legend: the sliding minute, as the figures
    # The bars reach the screen: the grab holds pixels in the requests colour.
    pixels = pixels_of(req, artifacts / "chart-requests.png")
    assert sum(near(px, dlg.palette.requests) for px in pixels) > 200
    ui.shot(dlg, "status-charts")

    # Live: a new failed request shows up on the next poll without reopening.
    later = [*busy_hour(NOW), (NOW - 5, {"model": "corp-chat", "status": 500})]
    services.answers["metrics"] = metrics_after(later, NOW)
    ui.until(lambda: sum(err.drawn["last min"]) == 4, 5, "the live error bar")
    assert sum(v or 0 for v in req.drawn["last min"]) == 63


def test_charts_without_requests_are_empty_but_labelled(
    ui: Harness, services: FakeServices
) -> None:
    services.answers["status"] = status_of(services)
    services.answers["metrics"] = metrics_after([], NOW)
    dlg = ui.open(StatusDialog, {}, services)
    assert isinstance(dlg, StatusDialog)
    ui.until(lambda: "0 requests in the last minute" in dlg.figures.get(), what="figures")
    req = dlg.charts["requests"]
    assert req.canvas.find_withtag("data") == ()
    assert "0 in 1 h" in req.texts()


def test_managed_state_quota_meters_and_the_audit_slot(ui: Harness, services: FakeServices) -> None:
    services.answers["status"] = status_of(services)
    services.answers["metrics"] = metrics_after([], NOW)
    dlg = ui.open(StatusDialog, {}, services)
    assert isinstance(dlg, StatusDialog)
    ui.until(lambda: dlg.snap is not None, what="status")
    # No policy, no audit key: nothing of either is shown.
    assert not dlg.managed_label.winfo_ismapped() and dlg.meters == {}
    assert not dlg.audit_label.winfo_ismapped()

    services.answers["status"] = status_of(services, policy=POLICY)
    ui.until(lambda: bool(dlg.meters), what="quota meters")
    ui.pump(0.3)
    assert dlg.managed_label.winfo_ismapped()
    text = dlg.managed.get()
    assert text.startswith("Managed by your organization")
    assert "config.yaml" in text and "environment (1 entry)" in text
    assert "sign-in server" not in text
    assert list(dlg.meters) == ["Requests today", "Tokens today"]  # no monthly quota set
    bar, var = dlg.meters["Requests today"]
    assert float(bar.cget("value")) == 240.0  # 120 of 500, out of 1000
    assert var.get().startswith("120 of 500 used, 380 left, resets ")
    assert dlg.meters["Tokens today"][1].get().startswith("45,000 of 50,000 used, 5,000 left")

    ok = {"last_verify": {"ok": True, "time": "2026-12-02T01:00:00Z", "events": 42}}
    services.answers["status"] = status_of(services, policy=POLICY, audit=ok)
    ui.until(lambda: "intact" in dlg.audit.get(), what="audit ok")
    ui.pump(0.3)
    assert dlg.audit_label.winfo_ismapped() and "42 events" in dlg.audit.get()
    bad = {"last_verify": {"ok": False, "time": "t", "events": 3, "problem": "line 2 altered"}}
    services.answers["status"] = status_of(services, audit=bad)
    ui.until(lambda: "FAILED: line 2 altered" in dlg.audit.get(), what="audit failed")
    ui.until(lambda: dlg.meters == {}, what="meters gone with the policy")


def test_chart_colours_stand_out_in_both_themes() -> None:
    for p in (LIGHT, DARK):
        assert contrast(p.foreground, p.background) >= 7
        assert contrast(p.muted, p.background) >= 4.5
        for series in (p.requests, p.p50, p.p95, p.errors):
            assert contrast(series, p.background) >= 3, (p, series)


def test_charts_show_the_requests_a_test_sent_through_the_real_agent(
    ui: Harness,
    agent_home: Path,  # noqa: F811
    artifacts: Path,
) -> None:
    write_config(agent_home, free_port())
    agent = AgentProc(agent_home)
    try:
        s = agent.wait_running()
        key = cli(agent_home, "key", env=agent.env).stdout.strip()
        for _ in range(4):
            assert chat(agent, s["sidecar"]["url"], key).status_code == 200
        dlg = ui.open(StatusDialog, {}, services_for(agent_home))
        assert isinstance(dlg, StatusDialog)
        req = dlg.charts["requests"]
        ui.until(
            lambda: sum(v or 0 for v in req.drawn.get("last min", [])) == 4,
            timeout=60,
            what="four requests in the chart",
        )
        assert len(req.canvas.find_withtag("bar")) >= 1
        assert len(dlg.charts["latency"].canvas.find_withtag("series:p50")) >= 1
        assert "4 requests in the last minute" in dlg.figures.get()
        ui.pump(0.3)
        pixels = pixels_of(req, artifacts / "chart-requests-real.png")
        assert sum(near(px, dlg.palette.requests) for px in pixels) > 20
        ui.shot(dlg, "status-charts-real-agent")
    finally:
        agent.stop()
