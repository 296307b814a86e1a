"""Tk dialogs, each run as a short-lived child process (``litellm-bridge dialog NAME``).

A dialog reads its parameters as JSON on stdin and prints its result as one JSON line on
stdout (``{"cancelled": true}`` when closed). Dialogs that need live data or must show an
agent error next to a field (sign in, wizard, status) use the control channel themselves.
"""

from __future__ import annotations

import importlib

DIALOGS = {
    "unlock": "tray_agent.dialogs.unlock:UnlockDialog",
    "signin": "tray_agent.dialogs.signin:SignInDialog",
    "env": "tray_agent.dialogs.env_editor:EnvDialog",
    "status": "tray_agent.dialogs.status:StatusDialog",
    "setup": "tray_agent.dialogs.setup:SetupDialog",
    "tools": "tray_agent.dialogs.tools:ToolsDialog",
    "save": "tray_agent.dialogs.save:SaveDialog",
    "wizard": "tray_agent.dialogs.wizard:WizardDialog",
    "audit_export": "tray_agent.dialogs.audit_export:AuditExportDialog",
}


def dialog_class(name: str) -> type:
    try:
        target = DIALOGS[name]
    except KeyError:
        raise KeyError(f"unknown dialog {name!r}; known: {', '.join(sorted(DIALOGS))}") from None
    module, _, attr = target.partition(":")
    cls: type = getattr(importlib.import_module(module), attr)
    return cls
