"""Shared Tk pieces: scaling, fonts, labelled fields with inline errors, Enter/Escape, jobs.

Rules kept here: never ``wait_visibility()`` (it hangs without a window manager); work that
may block (control calls, scrypt) runs in a thread and reports back through ``after``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import queue
import threading
import tkinter as tk
from collections.abc import Callable
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any

from tray_agent.dialogs.services import Services

SCALE_ENV = "LITELLM_BRIDGE_UI_SCALE"
ERROR_FG = "#B3261E"
MUTED_FG = "#555555"


def ui_scale(root: tk.Misc) -> float:
    """1.0 at 96 DPI; an explicit LITELLM_BRIDGE_UI_SCALE (or GDK_SCALE) wins."""
    for var in (SCALE_ENV, "GDK_SCALE"):
        raw = os.environ.get(var)
        if raw:
            try:
                return max(0.5, min(4.0, float(raw)))
            except ValueError:
                pass
    try:
        return max(1.0, float(root.winfo_fpixels("1i")) / 96.0)
    except tk.TclError:
        return 1.0


def make_root(title: str) -> tk.Tk:
    root = tk.Tk(className="litellm-bridge")
    root.title(title)
    scale = ui_scale(root)
    root.tk.call("tk", "scaling", 96.0 * scale / 72.0)
    # Point sizes follow "tk scaling"; Tk's default fonts are in pixels on X11, so reset them.
    for name, size in (
        ("TkDefaultFont", 10),
        ("TkTextFont", 10),
        ("TkMenuFont", 10),
        ("TkHeadingFont", 10),
        ("TkFixedFont", 10),
        ("TkCaptionFont", 12),
        ("TkSmallCaptionFont", 9),
        ("TkTooltipFont", 9),
    ):
        with contextlib.suppress(tk.TclError):
            tkfont.nametofont(name, root=root).configure(size=size)
    style = ttk.Style(root)
    if "clam" in style.theme_names():
        style.theme_use("clam")
    style.configure("Error.TLabel", foreground=ERROR_FG)
    style.configure("Muted.TLabel", foreground=MUTED_FG)
    style.configure("Title.TLabel", font=("TkDefaultFont", 13, "bold"))
    style.configure("Treeview", rowheight=int(22 * scale))
    for widget in ("TCheckbutton", "TRadiobutton"):
        style.configure(widget, indicatorsize=int(12 * scale), indicatormargin=int(3 * scale))
    root.scale = scale  # type: ignore[attr-defined]
    root.minsize(int(360 * scale), int(120 * scale))
    return root


class Field:
    """A label, an entry and an error line under it (shown only when set)."""

    def __init__(
        self,
        parent: tk.Misc,
        row: int,
        label: str,
        *,
        secret: bool = False,
        value: str = "",
        width: int = 32,
    ) -> None:
        scale = float(getattr(parent.winfo_toplevel(), "scale", 1.0))
        gap = int(6 * scale)
        self.label = ttk.Label(parent, text=label)
        self.label.grid(row=row, column=0, sticky="w", padx=(0, gap), pady=(gap, 0))
        self.var = tk.StringVar(parent, value=value)
        self.entry = ttk.Entry(
            parent, textvariable=self.var, width=width, show="•" if secret else ""
        )
        self.entry.grid(row=row, column=1, sticky="ew", pady=(gap, 0))
        self.error_var = tk.StringVar(parent, value="")
        self.error = ttk.Label(
            parent, textvariable=self.error_var, style="Error.TLabel", wraplength=int(440 * scale)
        )
        self.error.grid(row=row + 1, column=1, sticky="w")
        self.error.grid_remove()
        # Editing the field clears its error: the message was about the old value.
        self.var.trace_add("write", self._edited)

    def _edited(self, *_args: object) -> None:
        if self.error_var.get():
            self.set_error(None)

    @property
    def value(self) -> str:
        return self.var.get()

    def set_error(self, message: str | None) -> None:
        self.error_var.set(message or "")
        if message:
            self.error.grid()
            self.entry.focus_set()
        else:
            self.error.grid_remove()


class Dialog:
    """Base of every dialog: builds into ``root``; ``result`` is set when it closes."""

    title = "LiteLLM Bridge"

    def __init__(self, root: tk.Tk, params: dict[str, Any], services: Services) -> None:
        self.root = root
        self.params = params
        self.services = services
        self.result: dict[str, Any] | None = None
        self._jobs: queue.Queue[Callable[[], None]] = queue.Queue()
        self.scale: float = getattr(root, "scale", 1.0)
        root.title(self.title)
        self.frame = ttk.Frame(root, padding=self.px(14))
        self.frame.grid(row=0, column=0, sticky="nsew")
        root.columnconfigure(0, weight=1)
        root.rowconfigure(0, weight=1)
        root.protocol("WM_DELETE_WINDOW", self.cancel)
        root.bind("<Escape>", lambda _e: self.cancel())
        self.build()
        root.after(40, self._pump)

    def px(self, n: float) -> int:
        return round(n * self.scale)

    def build(self) -> None:
        raise NotImplementedError

    # -- closing ---------------------------------------------------------------------------
    def finish(self, result: dict[str, Any]) -> None:
        self.result = result
        self.close()

    def cancel(self) -> None:
        if self.result is None:
            self.result = {"cancelled": True}
        self.close()

    def close(self) -> None:
        with contextlib.suppress(tk.TclError):
            self.root.destroy()

    # -- background work -------------------------------------------------------------------
    def background(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[Exception], None],
    ) -> None:
        """Run ``work`` in a thread; ``done``/``failed`` run later on the Tk thread."""

        def run() -> None:
            try:
                value = work()
            except Exception as exc:
                err = exc
                self._jobs.put(lambda: failed(err))
            else:
                self._jobs.put(lambda: done(value))

        threading.Thread(target=run, daemon=True).start()

    def _pump(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            job()
        with contextlib.suppress(tk.TclError):
            self.root.after(40, self._pump)

    # -- helpers ---------------------------------------------------------------------------
    def buttons(
        self,
        parent: tk.Misc,
        row: int,
        spec: list[tuple[str, Callable[[], None]]],
        default: int = 0,
    ) -> list[ttk.Button]:
        bar = ttk.Frame(parent)
        bar.grid(row=row, column=0, columnspan=3, sticky="e", pady=(self.px(12), 0))
        out = []
        for i, (text, fn) in enumerate(spec):
            b = ttk.Button(
                bar, text=text, command=fn, default="active" if i == default else "normal"
            )
            b.grid(row=0, column=i, padx=(self.px(6), 0))
            out.append(b)
        return out


def run(name: str, params: dict[str, Any], services: Services | None = None) -> dict[str, Any]:
    """Show dialog ``name`` until it closes; its result (``{"cancelled": true}`` if dismissed)."""
    from tray_agent.dialogs import dialog_class

    cls: Any = dialog_class(name)
    # Tk objects must be freed on the Tk thread. Worker threads (agent calls) could otherwise
    # trigger a collection that frees them and aborts the process: collect on the Tk thread.
    gc.disable()
    root = make_root(cls.title)

    def collect() -> None:
        gc.collect()
        root.after(2000, collect)

    root.after(2000, collect)
    dlg: Dialog = cls(root, params, services or Services())
    root.lift()
    root.attributes("-topmost", True)
    root.after(300, lambda: root.attributes("-topmost", False))
    root.mainloop()
    return dlg.result or {"cancelled": True}
