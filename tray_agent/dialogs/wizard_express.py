"""The wizard's one page when an organization deployed the setup (a managed config.yaml).

The admin decided the template, the port and the pre-set env values; what only the user
knows is asked on one page: a local password, the employee ID and company password, and
which tools to set up. One press then creates the account, signs in, starts the proxy and
sets up and tests the ticked tools (``StartStep`` and ``DoneStep`` run on by themselves).
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import TYPE_CHECKING, Any

from tray_agent.account import password_problem
from tray_agent.dialogs import wizard_files
from tray_agent.dialogs.base import Field
from tray_agent.dialogs.signin import SignInForm, last_employee_id
from tray_agent.dialogs.wizard_diagnose import SIGN_IN_CHECKS, Diagnosis
from tray_agent.dialogs.wizard_steps import Step

if TYPE_CHECKING:
    from tray_agent.dialogs.wizard import WizardDialog


def express_mode(services: Any) -> tuple[str | None, set[str]]:
    """(the lock's words when config.yaml is managed and present, the env names the policy
    sets): the admin-deployed setup, and the values nobody has to type."""
    from tray_agent.policy.lock import for_dialog

    try:
        lock = for_dialog(services)
    except Exception:
        return None, set()
    preset = set(lock.env_values)
    if lock.is_locked("config") and services.paths.config_file.exists():
        return lock.message("config"), preset
    return None, preset


def program_tools() -> list[tuple[str, str, bool]]:
    """(name, title, installed) of the tools that are programs a person runs."""
    from tray_agent.clients import all_clients

    return [(c.name, c.title, c.installed()) for c in all_clients() if c.executables][:4]


class ExpressStep(Step):
    title = "Sign in: your organization set up the rest"

    def __init__(self, wizard: WizardDialog, frame: ttk.Frame) -> None:
        super().__init__(wizard, frame)
        px = wizard.px
        ttk.Label(
            frame,
            text=f"{str(wizard.express).rstrip('.')}. The template, port and shared values "
            "are set. Your local password protects your secrets on this computer; it is not your "
            "company password and never leaves this machine.",
            wraplength=px(480),
        ).grid(row=0, column=0, columnspan=2, sticky="w")
        self.new_account = not wizard.services.account.exists()
        self.password = Field(frame, 1, "Local password", secret=True)
        self.repeat = Field(frame, 3, "Repeat", secret=True)
        if not self.new_account:
            for f in (self.password, self.repeat):
                f.label.grid_remove()
                f.entry.grid_remove()
        sign = ttk.Frame(frame)
        sign.grid(row=5, column=0, columnspan=2, sticky="ew")
        self.form = SignInForm(wizard, sign, 0, last_employee_id(wizard.services))
        self.form.remember_box.grid_remove()  # renewal is the organization's setting
        box = ttk.Frame(frame)
        box.grid(row=6, column=0, columnspan=2, sticky="w", pady=(px(8), 0))
        ttk.Label(box, text="Set up").grid(row=0, column=0, sticky="w", padx=(0, px(6)))
        self.ticks: dict[str, tk.BooleanVar] = {}
        for i, (name, title, installed) in enumerate(program_tools()):
            var = tk.BooleanVar(frame, value=installed)
            self.ticks[name] = var
            cb = ttk.Checkbutton(box, text=title if installed else f"{title} (not found)")
            cb.configure(variable=var)
            if not installed:
                cb.state(["disabled"])
            cb.grid(row=0, column=1 + i, sticky="w", padx=(0, px(8)))
        self.error = tk.StringVar(frame, value="")
        ttk.Label(frame, textvariable=self.error, style="Error.TLabel", wraplength=px(480)).grid(
            row=7, column=0, columnspan=2, sticky="w"
        )
        self.diagnosis = Diagnosis(wizard, frame, 8)
        self.done = False

    def show(self) -> None:
        self.w.next_button.configure(text="Set up")
        (self.password if self.new_account else self.form.employee).entry.focus_set()
        if not self.new_account and self.form.employee.value:
            self.form.password.entry.focus_set()

    def chosen(self) -> list[str]:
        return [n for n, v in self.ticks.items() if v.get()]

    def next(self, proceed: Callable[[], None]) -> None:
        if self.done:
            proceed()
            return
        self.error.set("")
        if self.new_account and not self.w.created_account:
            self.password.set_error(None)
            self.repeat.set_error(None)
            problem = password_problem(self.password.value)
            if problem:
                self.password.set_error(problem)
                return
            if self.repeat.value != self.password.value:
                self.repeat.set_error("the passwords differ")
                return
        if not self.form.validate():
            return
        self.diagnosis.clear()
        pw = self.password.value
        services = self.w.services

        def work() -> None:
            if self.new_account and not self.w.created_account:
                wizard_files.create_account(services.paths, pw)
                self.w.created_account = True
            services.call("reload", timeout=30)

        def signed_in(_result: dict[str, Any]) -> None:
            self.done = True
            self.w.signed_in = True
            self.w.express_tools = self.chosen()
            proceed()

        def ready(_v: Any) -> None:
            if wizard_files.needs_sign_in(services.paths):
                self.form.submit(
                    signed_in, self.w.next_button, lambda m: self.diagnosis.run(SIGN_IN_CHECKS, m)
                )
            else:
                signed_in({})

        def failed(exc: Exception) -> None:
            target = self.password if self.new_account and not self.w.created_account else None
            if target is not None:
                target.set_error(str(exc)[:300])
            else:
                self.error.set(str(exc)[:300])
                self.diagnosis.run(SIGN_IN_CHECKS)

        self.w.busy(work, ready, failed, "Saving…")
