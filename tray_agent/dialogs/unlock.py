"""Ask for the local password (or create the account when there is none yet)."""

from __future__ import annotations

from tkinter import ttk

from tray_agent.account import AccountError, LockedOut, WrongPassword, password_problem
from tray_agent.dialogs.base import Dialog, Field


class UnlockDialog(Dialog):
    title = "LiteLLM Bridge: local password"

    def build(self) -> None:
        self.create = bool(self.params.get("create"))
        f = self.frame
        f.columnconfigure(1, weight=1)
        text = (
            "Create the local password that protects your secrets and settings."
            if self.create
            else self.params.get("reason", "Enter your local password to continue.")
        )
        ttk.Label(f, text=text, wraplength=self.px(340)).grid(
            row=0, column=0, columnspan=2, sticky="w"
        )
        self.password = Field(f, 1, "Password", secret=True)
        self.repeat = Field(f, 3, "Repeat", secret=True) if self.create else None
        self.ok, self.cancel_button = self.buttons(
            f, 5, [("Create" if self.create else "Unlock", self.submit), ("Cancel", self.cancel)]
        )
        self.root.bind("<Return>", lambda _e: self.submit())
        self.password.entry.focus_set()

    def submit(self) -> None:
        pw = self.password.value
        self.password.set_error(None)
        if self.repeat:
            self.repeat.set_error(None)
        if self.create:
            problem = password_problem(pw)
            if problem:
                self.password.set_error(problem)
                return
            if self.repeat and self.repeat.value != pw:
                self.repeat.set_error("the passwords differ")
                return
        self.ok.state(["disabled"])
        account = self.services.account

        def work() -> None:
            if self.create:
                self.services.paths.ensure()
                account.create(pw)
            else:
                account.verify(pw)

        self.background(work, lambda _v: self.finish({"ok": True}), self._failed)

    def _failed(self, exc: Exception) -> None:
        self.ok.state(["!disabled"])
        self.password.var.set("")
        if isinstance(exc, AccountError):
            self.password.set_error(str(exc))
            wait = 0.0
            if isinstance(exc, LockedOut):
                wait = exc.remaining
            elif isinstance(exc, WrongPassword):
                wait = exc.locked_for
            if wait > 0:
                self.ok.state(["disabled"])
                self.root.after(int(wait * 1000) + 100, lambda: self.ok.state(["!disabled"]))
        else:
            self.password.set_error(f"could not check the password: {exc}")
