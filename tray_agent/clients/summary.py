"""The short "how to use the bridge from your tools" text shown by the tray and wizard."""

from __future__ import annotations

from tray_agent.clients.registry import all_clients


def setup_summary(url: str, key_reference: str) -> str:
    """A few lines per tool: how to point it at ``url`` with the key shown as
    ``key_reference`` (e.g. ``$LITELLM_BRIDGE_API_KEY``; never pass the key itself to
    something that is displayed or copied without the user asking for it)."""
    clients = all_clients()
    width = max(len(c.title) for c in clients)
    name_width = max(len(c.name) for c in clients) + 2
    lines = [
        f"LiteLLM Bridge at {url} (key: {key_reference})",
        "Configure a tool: litellm-bridge clients setup NAME [--dry-run];"
        " undo: litellm-bridge clients restore NAME",
        "",
    ]
    for c in clients:
        lines.append(
            f"{c.title.ljust(width)}  {f'[{c.name}]'.ljust(name_width)}  "
            f"{c.summary(url, key_reference)}"
        )
    return "\n".join(lines) + "\n"
