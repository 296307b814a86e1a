"""Environment editor: the env entries given to the proxy, secret values masked.

Revealing secret values needs the local password again. Values are read and written
through the env store (secret values in the OS keyring); the agent's watcher applies them.
Entries the organization's admin lock covers (``lock.env``) carry a "managed" label and are
read-only here; with ``lock.env: true`` the whole editor is.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from tkinter import filedialog, ttk
from typing import Any

from tray_agent.dialogs.base import Dialog, Field
from tray_agent.envstore import (
    EnvStore,
    EnvStoreError,
    NewValue,
    format_line,
    looks_secret,
    name_problem,
    parse_dotenv,
)
from tray_agent.policy.lock import MANAGED_LABEL, LockState, for_dialog

MASK = "••••••••"


class EnvDialog(Dialog):
    title = "LiteLLM Bridge: environment"

    def locked(self, name: str) -> bool:
        return self.lock.is_locked(f"env:{name}")

    def _refuse(self, name: str | None) -> bool:
        """Show why a change is refused; True when it is (the entry is managed)."""
        if self.lock.all_env_locked or (name and self.locked(name)):
            what = f"env:{name}" if name else "env:*"
            self.message.set(
                self.lock.message(what) if name else f"env entries are {self.lock.owner}"
            )
            return True
        return False

    def build(self) -> None:
        self.store = EnvStore(self.services.paths.env_file, self.services.secrets)
        self.lock: LockState = for_dialog(self.services)
        self.revealed = False
        self.changed: list[str] = []
        f = self.frame
        f.columnconfigure(0, weight=1)
        f.rowconfigure(1, weight=1)
        ttk.Label(f, text="Variables given to the proxy", style="Title.TLabel").grid(
            row=0, column=0, sticky="w"
        )
        cols = ("value", "enabled", "secret")
        self.table = ttk.Treeview(f, columns=cols, height=8, selectmode="browse")
        self.table.heading("#0", text="Name")
        self.table.heading("value", text="Value")
        self.table.heading("enabled", text="Enabled")
        self.table.heading("secret", text="Secret")
        self.table.column("#0", width=self.px(200))
        self.table.column("value", width=self.px(240))
        self.table.column("enabled", width=self.px(70), anchor="center")
        self.table.column("secret", width=self.px(70), anchor="center")
        self.table.grid(row=1, column=0, sticky="nsew", pady=(self.px(6), 0))
        self.table.bind("<<TreeviewSelect>>", lambda _e: self._load_selected())
        self.table.bind("<space>", lambda _e: self.toggle_enabled())

        tools = ttk.Frame(f)
        tools.grid(row=2, column=0, sticky="w", pady=(self.px(6), 0))
        self.change_buttons: list[ttk.Button] = []
        for i, (text, fn) in enumerate(
            [
                ("New", self.new),
                ("Enable/disable", self.toggle_enabled),
                ("Remove", self.remove),
                ("Import .env…", self.import_file),
                ("Export .env…", self.export_file),
            ]
        ):
            button = ttk.Button(tools, text=text, command=fn)
            button.grid(row=0, column=i, padx=(0, self.px(6)))
            if fn != self.export_file:
                self.change_buttons.append(button)

        form = ttk.LabelFrame(f, text="Entry", padding=self.px(8))
        form.grid(row=3, column=0, sticky="ew", pady=(self.px(8), 0))
        form.columnconfigure(1, weight=1)
        self.name = Field(form, 0, "Name")
        self.value = Field(form, 2, "Value", secret=True)
        self.secret = tk.BooleanVar(form, value=False)
        self.enabled = tk.BooleanVar(form, value=True)
        flags = ttk.Frame(form)
        flags.grid(row=4, column=1, sticky="w", pady=(self.px(4), 0))
        ttk.Checkbutton(
            flags, text="Secret (OS keyring)", variable=self.secret, command=self._mask_value
        ).grid(row=0, column=0)
        ttk.Checkbutton(flags, text="Enabled", variable=self.enabled).grid(
            row=0, column=1, padx=(self.px(12), 0)
        )
        self.save_button = ttk.Button(form, text="Save entry", command=self.save_entry)
        self.save_button.grid(row=4, column=2, sticky="e")
        self.change_buttons.append(self.save_button)
        self.hint = tk.StringVar(form, value="")
        ttk.Label(form, textvariable=self.hint, style="Muted.TLabel").grid(
            row=5, column=1, columnspan=2, sticky="w"
        )

        reveal = ttk.LabelFrame(f, text="Reveal secret values", padding=self.px(8))
        reveal.grid(row=4, column=0, sticky="ew", pady=(self.px(8), 0))
        reveal.columnconfigure(1, weight=1)
        self.local = Field(reveal, 0, "Local password", secret=True)
        self.reveal_button = ttk.Button(reveal, text="Reveal", command=self.reveal)
        self.reveal_button.grid(row=0, column=2, padx=(self.px(6), 0), pady=(6, 0))
        self.local.entry.bind("<Return>", self._key(self.reveal))
        self.name.entry.bind("<Return>", self._key(self.save_entry))
        self.value.entry.bind("<Return>", self._key(self.save_entry))

        self.message = tk.StringVar(f, value="")
        ttk.Label(f, textvariable=self.message, style="Muted.TLabel").grid(
            row=5, column=0, sticky="w", pady=(self.px(4), 0)
        )
        self.buttons(f, 6, [("Close", self.done)])
        if self.lock.all_env_locked:  # read-only: every entry is the organization's
            for button in self.change_buttons:
                button.state(["disabled"])
            self.message.set(f"Env entries are {self.lock.owner}: read-only.")
        self.reload()
        self.table.focus_set()
        kids = self.table.get_children()
        if kids:
            self.table.selection_set(kids[0])
            self.table.focus(kids[0])

    @staticmethod
    def _key(action: Callable[[], None]) -> Callable[[Any], str]:
        def handler(_event: Any) -> str:
            action()
            return "break"

        return handler

    # -- table -----------------------------------------------------------------------------
    def reload(self) -> None:
        sel = self.table.selection()
        self.table.delete(*self.table.get_children())
        try:
            entries = self.store.entries()
        except EnvStoreError as exc:
            self.message.set(str(exc))
            return
        for e in entries:
            value = self._shown_value(e)
            self.table.insert(
                "",
                "end",
                iid=e.name,
                text=f"{e.name} ({MANAGED_LABEL})" if self.locked(e.name) else e.name,
                values=(value, "yes" if e.enabled else "no", "yes" if e.secret else "no"),
            )
        if sel and self.table.exists(sel[0]):
            self.table.selection_set(sel[0])

    def _shown_value(self, e: Any) -> str:
        if not e.secret:
            return e.value or ""
        if not self.revealed:
            return MASK
        v = self.store.value(e)
        return "(missing in the keyring)" if v is None else v

    def selected(self) -> str | None:
        sel = self.table.selection()
        return sel[0] if sel else None

    def _load_selected(self) -> None:
        name = self.selected()
        e = self.store.get(name) if name else None
        if e is None:
            return
        self.name.var.set(e.name)
        self.secret.set(e.secret)
        self.enabled.set(e.enabled)
        if e.secret and not self.revealed:
            self.value.var.set("")
            self.hint.set("Leave Value empty to keep the current secret value.")
        else:
            self.value.var.set(self.store.value(e) or "")
            self.hint.set("")
        self._mask_value()
        self.name.set_error(None)
        self.value.set_error(None)
        managed = self.lock.all_env_locked or self.locked(e.name)
        self.save_button.state(["disabled"] if managed else ["!disabled"])
        for field in (self.name, self.value):
            field.entry.state(["readonly"] if managed else ["!readonly"])
        if managed:
            self.hint.set(f"{self.lock.message(f'env:{e.name}')}: read-only.")

    def _mask_value(self) -> None:
        self.value.entry.configure(show="•" if self.secret.get() and not self.revealed else "")

    # -- actions ---------------------------------------------------------------------------
    def new(self) -> None:
        self.table.selection_remove(*self.table.selection())
        if self._refuse(None):
            return
        for field in (self.name, self.value):
            field.entry.state(["!readonly"])
        self.save_button.state(["!disabled"])
        self.name.var.set("")
        self.value.var.set("")
        self.secret.set(False)
        self.enabled.set(True)
        self.hint.set("")
        self._mask_value()
        self.name.entry.focus_set()

    def save_entry(self) -> None:
        name = self.name.value.strip()
        value = self.value.value
        self.name.set_error(None)
        self.value.set_error(None)
        problem = name_problem(name) if name else "enter a name"
        if problem:
            self.name.set_error(problem)
            return
        if self._refuse(name):
            return
        existing = self.store.get(name)
        secret = self.secret.get()
        keep = existing is not None and existing.secret and secret and value == ""
        if not keep and value == "" and (existing is None or secret):
            self.value.set_error("enter a value")
            return
        if existing is None and not secret and looks_secret(name) and not self.hint.get():
            self.hint.set("This name looks secret: tick Secret, or Save again to keep it plain.")
            return
        try:
            if not keep:
                self.store.set(name, value, secret=secret)
            if existing is None or existing.enabled != self.enabled.get() or not keep:
                self.store.set_enabled(name, self.enabled.get())
        except EnvStoreError as exc:
            self.value.set_error(str(exc))
            return
        self.changed.append(name)
        self.hint.set("")
        self.message.set(f"Saved {name}; the proxy picks it up in a moment.")
        self.reload()
        if self.table.exists(name):
            self.table.selection_set(name)

    def toggle_enabled(self) -> None:
        name = self.selected()
        e = self.store.get(name) if name else None
        if e is None or self._refuse(e.name):
            return
        self.store.set_enabled(e.name, not e.enabled)
        self.changed.append(e.name)
        self.reload()
        self._load_selected()

    def remove(self) -> None:
        name = self.selected()
        if name and self._refuse(name):
            return
        if name and self.store.unset(name):
            self.changed.append(name)
            self.message.set(f"Removed {name}.")
            self.reload()
            self.new()

    def reveal(self) -> None:
        pw = self.local.value
        self.local.set_error(None)
        if not pw:
            self.local.set_error("enter your local password")
            return
        self.reveal_button.state(["disabled"])

        def ok(_v: Any) -> None:
            self.revealed = True
            self.local.var.set("")
            self.reveal_button.state(["disabled"])
            self.message.set("Secret values are shown until you close this window.")
            self.reload()
            self._load_selected()

        def failed(exc: Exception) -> None:
            self.reveal_button.state(["!disabled"])
            self.local.var.set("")
            self.local.set_error(str(exc))

        self.background(lambda: self.services.account.verify(pw), ok, failed)

    def import_file(self, path: str | None = None) -> None:
        path = path or filedialog.askopenfilename(
            parent=self.root, title="Import a .env file", filetypes=[("env files", "*.env *")]
        )
        if not path:
            return
        try:
            parsed = parse_dotenv(Path(path).read_text(encoding="utf-8"))
            locked = self.lock.env_names_locked(e.name for e in parsed.entries)
            if locked or self._refuse(None):
                self.message.set(f"Import refused: {', '.join(locked)} {self.lock.owner}")
                return
            self.store.set_many(
                NewValue(e.name, e.value, looks_secret(e.name)) for e in parsed.entries
            )
        except (OSError, UnicodeDecodeError, EnvStoreError) as exc:
            self.message.set(f"Import failed: {exc}")
            return
        names = [e.name for e in parsed.entries]
        self.changed += names
        skipped = f"; skipped {len(parsed.skipped)} lines" if parsed.skipped else ""
        self.message.set(f"Imported {len(names)} entries{skipped}.")
        self.reload()

    def export_file(self, path: str | None = None) -> None:
        path = path or filedialog.asksaveasfilename(
            parent=self.root, title="Export to a .env file", initialfile="litellm-bridge.env"
        )
        if not path:
            return
        lines = []
        for e in self.store.entries():
            if e.secret and not self.revealed:
                lines.append(f"# {e.name}: secret, not exported (reveal first to include it)")
                continue
            v = self.store.value(e)
            prefix = "" if e.enabled else "# disabled: "
            lines.append(prefix + format_line(e.name, v or ""))
        from tray_agent.fsutil import atomic_write

        atomic_write(path, "\n".join(lines) + "\n", mode=0o600)
        self.message.set(f"Exported to {path}.")

    def done(self) -> None:
        self.finish({"ok": True, "changed": sorted(set(self.changed))})
