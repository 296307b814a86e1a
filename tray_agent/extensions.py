"""Optional parts wired into a Runtime (token refresher, metrics, ...)."""

from __future__ import annotations

from typing import Any


def install_extensions(rt: Any) -> None:
    """Attach every part that lives beside the core; each one is independent."""
    from tray_agent.metrics import MetricsLink
    from tray_agent.token.agent_link import TokenLink

    rt.extensions.append(TokenLink(rt))
    rt.extensions.append(MetricsLink(rt))
