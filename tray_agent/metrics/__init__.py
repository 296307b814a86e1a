"""Request metrics of the running proxy: requests, errors, latency, in-flight, per model.

``MetricsLink`` is the runtime extension; ``fetch_metrics(paths)`` returns the same dict as
``litellm-bridge metrics --json`` (None when no agent runs), for the tray's Status dialog.
"""

from __future__ import annotations

from typing import Any

from tray_agent.metrics.agent_link import MetricsLink
from tray_agent.metrics.store import WINDOWS, MetricsStore
from tray_agent.paths import Paths


def fetch_metrics(paths: Paths, timeout: float = 10.0) -> dict[str, Any] | None:
    """The running agent's metrics summary, or None when no agent runs for ``paths``."""
    from tray_agent.control.client import ControlClient

    client = ControlClient.connect(paths)
    if client is None:
        return None
    with client:
        result: dict[str, Any] = client.call("metrics", timeout=timeout)
    return result


__all__ = ["WINDOWS", "MetricsLink", "MetricsStore", "fetch_metrics"]
