"""Optional parts wired into a Runtime (token refresher, metrics, secret feed, ...)."""

from __future__ import annotations

from tray_agent.seams import ExtensionHost


def install_extensions(rt: ExtensionHost) -> None:
    """Attach every part that lives beside the core; each one is independent.

    The secret feed comes last: it wraps the control handlers the others registered, so
    their secret parameters reach the log redactor first.
    """
    from tray_agent.audit.writer import AuditWriter
    from tray_agent.core.startclock import StartClock
    from tray_agent.logs.secret_feed import SecretFeed
    from tray_agent.metrics import MetricsLink
    from tray_agent.policy.lock_link import LockLink
    from tray_agent.policy.usage import UsageTracker
    from tray_agent.policy.watch import PolicyWatch
    from tray_agent.token.agent_link import TokenLink
    from tray_agent.update.link import UpdateLink

    rt.extensions.append(TokenLink(rt))
    rt.extensions.append(MetricsLink(rt))
    rt.extensions.append(StartClock(rt))
    rt.extensions.append(LockLink(rt))
    rt.extensions.append(PolicyWatch(rt))
    rt.extensions.append(UsageTracker(rt))
    rt.extensions.append(AuditWriter(rt))
    rt.extensions.append(UpdateLink(rt))
    rt.extensions.append(SecretFeed(rt))
