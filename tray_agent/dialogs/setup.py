"""Copy CLI setup: the per-tool setup text, with buttons to copy it and the API key."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Any

from tray_agent.dialogs.base import Dialog


def setup_panel(dialog: Dialog, parent: tk.Misc, row: int, text: str, key: str | None) -> Any:
    """A read-only text with the setup and the copy buttons; shared with the wizard."""
    box = tk.Text(parent, height=14, width=100, wrap="none", font="TkFixedFont")
    box.insert("1.0", text)
    box.configure(state="disabled")
    box.grid(row=row, column=0, columnspan=3, sticky="nsew")
    xscroll = ttk.Scrollbar(parent, orient="horizontal", command=box.xview)
    box.configure(xscrollcommand=xscroll.set)
    xscroll.grid(row=row + 1, column=0, columnspan=3, sticky="ew")
    parent.rowconfigure(row, weight=1)
    parent.columnconfigure(0, weight=1)
    note = tk.StringVar(parent, value="")
    bar = ttk.Frame(parent)
    bar.grid(row=row + 2, column=0, columnspan=3, sticky="w", pady=(dialog.px(6), 0))
    copied: list[str] = []

    def copy(what: str, value: str) -> None:
        dialog.root.clipboard_clear()
        dialog.root.clipboard_append(value)
        copied.append(what)
        note.set(f"Copied the {what} to the clipboard. Keep this window open until you paste.")

    b1 = ttk.Button(bar, text="Copy setup", command=lambda: copy("setup", text))
    b1.grid(row=0, column=0)
    if key:
        export = f"export LITELLM_BRIDGE_API_KEY={key}"
        ttk.Button(bar, text="Copy API key", command=lambda: copy("API key", key)).grid(
            row=0, column=1, padx=(dialog.px(6), 0)
        )
        ttk.Button(
            bar, text="Copy 'export' line", command=lambda: copy("export line", export)
        ).grid(row=0, column=2, padx=(dialog.px(6), 0))
    ttk.Label(parent, textvariable=note, style="Muted.TLabel").grid(
        row=row + 3, column=0, columnspan=3, sticky="w"
    )
    b1.focus_set()
    return copied


class SetupDialog(Dialog):
    title = "LiteLLM Bridge: CLI setup"

    def build(self) -> None:
        f = self.frame
        ttk.Label(f, text="Use the bridge from your tools", style="Title.TLabel").grid(
            row=0, column=0, sticky="w", pady=(0, self.px(6))
        )
        self.copied = setup_panel(
            self, f, 1, str(self.params.get("text", "")), self.params.get("key")
        )
        self.buttons(f, 5, [("Close", self.done)])
        self.root.bind("<Return>", lambda _e: self.done())

    def done(self) -> None:
        self.finish({"ok": True, "copied": list(self.copied)})
