"""Sign in to the company IAM: employee ID, password, "remember" toggle."""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Any

from tray_agent.dialogs.base import Dialog, Field


def last_employee_id(services: Any) -> str:
    try:
        from tray_agent.token.store import read_state

        return read_state(services.paths.state_file).employee_id or ""
    except Exception:
        return ""


class SignInForm:
    """The three sign-in fields; shared by the Sign in dialog and the wizard."""

    def __init__(self, dialog: Dialog, parent: tk.Misc, row: int, employee_id: str) -> None:
        self.dialog = dialog
        parent.columnconfigure(1, weight=1)
        self.employee = Field(parent, row, "Employee ID", value=employee_id)
        self.password = Field(parent, row + 2, "Password", secret=True)
        self.remember = tk.BooleanVar(parent, value=False)
        self.remember_box = ttk.Checkbutton(
            parent,
            text="Remember the password (OS keyring) to renew the token silently",
            variable=self.remember,
        )
        self.remember_box.grid(row=row + 4, column=1, sticky="w", pady=(8, 0))
        self.status = tk.StringVar(parent, value="")
        ttk.Label(parent, textvariable=self.status, style="Muted.TLabel").grid(
            row=row + 5, column=1, sticky="w"
        )
        (self.password if employee_id else self.employee).entry.focus_set()

    def validate(self) -> bool:
        self.employee.set_error(None)
        self.password.set_error(None)
        if not self.employee.value.strip():
            self.employee.set_error("enter your employee ID")
            return False
        if not self.password.value:
            self.password.set_error("enter your password")
            return False
        return True

    def submit(self, done: Any, button: ttk.Button, on_failed: Any = None) -> None:
        """Sign in once (never retried: a wrong password must not lock the account);
        ``on_failed(message)`` runs after an error is shown."""
        if not self.validate():
            return
        button.state(["disabled"])
        self.status.set("Signing in…")
        eid, pw, remember = self.employee.value.strip(), self.password.value, self.remember.get()

        def work() -> Any:
            return self.dialog.services.call(
                "token.login", timeout=60, employee_id=eid, password=pw, remember=remember
            )

        def ok(result: Any) -> None:
            button.state(["!disabled"])  # the wizard goes on using the same button
            self.status.set("")
            done({"ok": True, "employee_id": eid, "token": result})

        def failed(exc: Exception) -> None:
            button.state(["!disabled"])
            self.status.set("")
            self.password.var.set("")
            msg = str(exc)
            if "unknown command" in msg:
                msg = "this agent cannot sign in yet (no token support); update it"
            self.password.set_error(msg[:300])
            if on_failed is not None:
                on_failed(msg)

        self.dialog.background(work, ok, failed)


class SignInDialog(Dialog):
    title = "LiteLLM Bridge: sign in"

    def build(self) -> None:
        f = self.frame
        ttk.Label(f, text="Sign in to the internal LLM API", style="Title.TLabel").grid(
            row=0, column=0, columnspan=2, sticky="w", pady=(0, self.px(6))
        )
        eid = str(self.params.get("employee_id") or last_employee_id(self.services))
        self.form = SignInForm(self, f, 1, eid)
        self.ok, _ = self.buttons(f, 8, [("Sign in", self.submit), ("Cancel", self.cancel)])
        self.root.bind("<Return>", lambda _e: self.submit())

    def submit(self) -> None:
        self.form.submit(self.finish, self.ok)
