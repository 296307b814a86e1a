"""Choose where to save a file (Export diagnostics): a path field with Browse…."""

from __future__ import annotations

from pathlib import Path
from tkinter import filedialog, ttk

from tray_agent.dialogs.base import Dialog, Field


def default_dir() -> Path:
    for d in (Path.home() / "Downloads", Path.home() / "Desktop", Path.home()):
        if d.is_dir():
            return d
    return Path.cwd()


class SaveDialog(Dialog):
    title = "LiteLLM Bridge: save"

    def build(self) -> None:
        f = self.frame
        f.columnconfigure(1, weight=1)
        self.root.title(f"LiteLLM Bridge: {self.params.get('title', 'save')}")
        ttk.Label(f, text=str(self.params.get("title", "Save")), style="Title.TLabel").grid(
            row=0, column=0, columnspan=3, sticky="w"
        )
        start = Path(self.params.get("directory") or default_dir())
        name = str(self.params.get("filename") or "litellm-bridge.zip")
        self.path = Field(f, 1, "Save as", value=str(start / name), width=48)
        ttk.Button(f, text="Browse…", command=self.browse).grid(
            row=1, column=2, padx=(self.px(6), 0), pady=(6, 0)
        )
        self.buttons(f, 3, [("Save", self.submit), ("Cancel", self.cancel)])
        self.root.bind("<Return>", lambda _e: self.submit())
        self.path.entry.focus_set()
        self.path.entry.icursor("end")

    def browse(self) -> None:
        current = Path(self.path.value).expanduser()
        chosen = filedialog.asksaveasfilename(
            parent=self.root, initialdir=str(current.parent), initialfile=current.name
        )
        if chosen:
            self.path.var.set(chosen)

    def submit(self) -> None:
        p = Path(self.path.value.strip()).expanduser()
        if not self.path.value.strip():
            self.path.set_error("choose a file name")
            return
        if not p.parent.is_dir():
            self.path.set_error(f"the folder {p.parent} does not exist")
            return
        if p.is_dir():
            self.path.set_error("that is a folder: add a file name")
            return
        self.finish({"path": str(p)})
