"""The tray: a pystray icon showing the agent's state, its menu and notifications."""
