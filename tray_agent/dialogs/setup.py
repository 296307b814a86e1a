"""Copy CLI setup: the per-tool setup text, with buttons to copy it and the API key."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk

from tray_agent.dialogs.base import Dialog

BOX_COLUMNS = 90
BOX_LINES = 22


class SetupPanel:
    """A read-only text with the setup and the copy buttons; shared with the wizard."""

    def __init__(
        self, dialog: Dialog, parent: tk.Misc, row: int, text: str, key: str | None
    ) -> None:
        self.dialog = dialog
        self.text = text
        self.copied: list[str] = []
        # Lines are laid out for this width; "word" wrapping keeps a longer one visible.
        self.box = tk.Text(
            parent, height=BOX_LINES, width=BOX_COLUMNS, wrap="word", font="TkFixedFont"
        )
        self.box.insert("1.0", text)
        self.box.configure(state="disabled")
        self.box.grid(row=row, column=0, columnspan=2, sticky="nsew")
        yscroll = ttk.Scrollbar(parent, orient="vertical", command=self.box.yview)
        self.box.configure(yscrollcommand=yscroll.set)
        yscroll.grid(row=row, column=2, sticky="ns")
        parent.rowconfigure(row, weight=1)
        parent.columnconfigure(0, weight=1)
        self.note = tk.StringVar(parent, value="")
        bar = ttk.Frame(parent)
        bar.grid(row=row + 1, column=0, columnspan=3, sticky="w", pady=(dialog.px(6), 0))
        self.copy_button = ttk.Button(
            bar, text="Copy setup", command=lambda: self.copy("setup", text)
        )
        self.copy_button.grid(row=0, column=0)
        if key:
            export = f"export LITELLM_BRIDGE_API_KEY={key}"
            ttk.Button(bar, text="Copy API key", command=lambda: self.copy("API key", key)).grid(
                row=0, column=1, padx=(dialog.px(6), 0)
            )
            ttk.Button(
                bar, text="Copy 'export' line", command=lambda: self.copy("export line", export)
            ).grid(row=0, column=2, padx=(dialog.px(6), 0))
        ttk.Label(parent, textvariable=self.note, style="Muted.TLabel").grid(
            row=row + 2, column=0, columnspan=3, sticky="w"
        )
        self.copy_button.focus_set()

    def copy(self, what: str, value: str) -> None:
        root = self.dialog.root
        root.clipboard_clear()
        root.clipboard_append(value)
        self.copied.append(what)
        self.note.set(f"Copied the {what} to the clipboard. Keep this window open until you paste.")

    def shown_text(self) -> str:
        return self.box.get("1.0", "end-1c")

    def wrapped_lines(self) -> int:
        """How many lines the box had to wrap to fit its width (0 when all fit)."""
        self.box.update_idletasks()
        logical = int(self.box.index("end-1c").split(".")[0])
        shown = self.box.count("1.0", "end-1c", "displaylines")
        display = int(shown[0] if isinstance(shown, tuple) else shown or 0) + 1
        return display - logical


class SetupDialog(Dialog):
    title = "LiteLLM Bridge: CLI setup"

    def build(self) -> None:
        f = self.frame
        ttk.Label(f, text="Use the bridge from your tools", style="Title.TLabel").grid(
            row=0, column=0, sticky="w", pady=(0, self.px(6))
        )
        self.panel = SetupPanel(
            self, f, 1, str(self.params.get("text", "")), self.params.get("key")
        )
        self.buttons(f, 4, [("Close", self.done)])
        self.root.bind("<Return>", lambda _e: self.done())

    @property
    def copied(self) -> list[str]:
        return self.panel.copied

    def done(self) -> None:
        self.finish({"ok": True, "copied": list(self.copied)})
