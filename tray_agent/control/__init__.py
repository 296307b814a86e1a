"""Local control channel between the agent and the CLI / tray / dialogs (same user only)."""
