"""Text rendering of a metrics summary (CLI, diagnostics)."""

from __future__ import annotations

from typing import Any


def _ms(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0f} ms"


def _row(name: str, w: dict[str, Any]) -> str:
    lat = w.get("latency_ms") or {}
    return (
        f"{name:<16} {w['requests']:>8} {w['errors']:>7} {w['error_rate'] * 100:>6.1f}% "
        f"{_ms(lat.get('p50')):>9} {_ms(lat.get('p95')):>9} {w.get('streams', 0):>7} "
        f"{w.get('tokens_in', 0):>9} {w.get('tokens_out', 0):>9}"
    )


def format_metrics(summary: dict[str, Any]) -> str:
    fl = summary.get("in_flight") or {}

    def show(v: Any) -> str:
        return "-" if v is None else str(v)

    lines = [
        f"in flight: {show(fl.get('requests'))} requests, "
        f"{show(fl.get('connections'))} open connections; "
        f"{summary.get('total_requests', 0)} requests since the agent started"
    ]
    header = (
        f"{'':<16} {'requests':>8} {'errors':>7} {'rate':>7} {'p50':>9} {'p95':>9} "
        f"{'streams':>7} {'tok in':>9} {'tok out':>9}"
    )
    for name, w in (summary.get("windows") or {}).items():
        lines += ["", f"last {name}", header, _row("all models", w)]
        for model, mw in (w.get("models") or {}).items():
            lines.append(_row("  " + model[:14], mw))
        refused = w.get("refused") or {}
        if refused:
            lines.append("refused by policy: " + ", ".join(f"{k} {v}" for k, v in refused.items()))
    return "\n".join(lines)
