"""The first-run wizard's steps: the widgets of each page and what pressing Next does.

Each step writes what it collected right away (through ``wizard_files``, which holds every
read and write of the wizard), then asks the running agent to reload, sign in and start,
showing any error next to the field it concerns. ``wizard`` holds the window that pages
through them.
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
from tray_agent.dialogs.tools import ToolsPanel
from tray_agent.dialogs.wizard_diagnose import (
    KEYRING_CHECKS,
    SIGN_IN_CHECKS,
    START_CHECKS,
    Diagnosis,
)
from tray_agent.policy.lock import for_dialog

if TYPE_CHECKING:
    from tray_agent.dialogs.wizard import WizardDialog


class Step:
    title = ""

    def __init__(self, wizard: WizardDialog, frame: ttk.Frame) -> None:
        self.w = wizard
        self.frame = frame
        frame.columnconfigure(1, weight=1)

    def applies(self) -> bool:
        return True

    def show(self) -> None:
        """Called each time the step becomes visible."""

    def next(self, proceed: Callable[[], None]) -> None:
        proceed()


class AccountStep(Step):
    title = "Create your local password"

    def __init__(self, wizard: WizardDialog, frame: ttk.Frame) -> None:
        super().__init__(wizard, frame)
        ttk.Label(
            frame,
            text="It protects your secrets and settings on this computer. It is not your "
            "company password and never leaves this machine.",
            wraplength=wizard.px(460),
        ).grid(row=0, column=0, columnspan=2, sticky="w")
        self.password = Field(frame, 1, "Password", secret=True)
        self.repeat = Field(frame, 3, "Repeat", secret=True)

    def applies(self) -> bool:
        return not self.w.services.account.exists() or self.w.created_account

    def show(self) -> None:
        self.password.entry.focus_set()

    def next(self, proceed: Callable[[], None]) -> None:
        if self.w.created_account:
            proceed()
            return
        self.password.set_error(None)
        self.repeat.set_error(None)
        pw = self.password.value
        problem = password_problem(pw)
        if problem:
            self.password.set_error(problem)
            return
        if self.repeat.value != pw:
            self.repeat.set_error("the passwords differ")
            return

        def work() -> None:
            wizard_files.create_account(self.w.services.paths, pw)

        def done(_v: Any) -> None:
            self.w.created_account = True
            proceed()

        self.w.busy(work, done, lambda exc: self.password.set_error(str(exc)), "Saving…")


class TemplateStep(Step):
    title = "Choose a configuration template"

    def __init__(self, wizard: WizardDialog, frame: ttk.Frame) -> None:
        super().__init__(wizard, frame)
        from tray_agent.config.templates import list_templates

        self.templates = list_templates()
        self.choice = tk.StringVar(frame, value="")
        # A managed config.yaml (the admin lock) is kept: the templates are shown read-only.
        self.lock = for_dialog(wizard.services)
        self.managed = self.lock.is_locked("config")
        self.keep = self.managed or wizard.services.paths.config_file.exists()
        row = 0
        if self.keep:
            keep_text = "Keep my current config.yaml"
            if self.managed:
                keep_text = f"Keep config.yaml: {self.lock.message('config')}"
            ttk.Radiobutton(
                frame,
                text=keep_text,
                value="",
                variable=self.choice,
            ).grid(row=row, column=0, columnspan=2, sticky="w")
            row += 1
        for t in self.templates:
            rb = ttk.Radiobutton(frame, text=t.name, value=t.name, variable=self.choice)
            if self.managed:
                rb.state(["disabled"])
            rb.grid(row=row, column=0, sticky="nw", pady=(wizard.px(4), 0))
            ttk.Label(
                frame, text=t.description, wraplength=wizard.px(400), style="Muted.TLabel"
            ).grid(row=row, column=1, sticky="w", pady=(wizard.px(4), 0))
            row += 1
        if not self.keep and self.templates:
            preferred = str(wizard.params.get("template") or "")
            names = [t.name for t in self.templates]
            self.choice.set(preferred if preferred in names else names[0])
        self.port = Field(
            frame, row, "Local port", value=str(wizard.params.get("port", 4000)), width=8
        )
        self.port.entry.grid(sticky="w")
        if self.managed:
            self.port.entry.state(["readonly"])
        self.error = tk.StringVar(frame, value="")
        ttk.Label(frame, textvariable=self.error, style="Error.TLabel").grid(
            row=row + 2, column=0, columnspan=2, sticky="w"
        )

    def show(self) -> None:
        self.frame.focus_set()

    def next(self, proceed: Callable[[], None]) -> None:
        name = self.choice.get()
        self.port.set_error(None)
        if not name:
            proceed()  # keep the current config
            return
        if self.managed:
            self.error.set(self.lock.message("config"))
            return
        try:
            port = int(self.port.value)
        except ValueError:
            self.port.set_error("enter a number, e.g. 4000")
            return
        from tray_agent.config.schema import PORT_MAX, PORT_MIN

        if not PORT_MIN <= port <= PORT_MAX:
            self.port.set_error(f"use {PORT_MIN}..{PORT_MAX}")
            return
        template = next(t for t in self.templates if t.name == name)

        def work() -> None:
            wizard_files.write_config_from_template(self.w.services.paths, template, port)

        def done(_v: Any) -> None:
            self.w.template = name
            proceed()

        self.w.busy(work, done, lambda exc: self.error.set(str(exc)), "Writing config.yaml…")


class EnvStep(Step):
    title = "Values your configuration needs"

    def __init__(self, wizard: WizardDialog, frame: ttk.Frame) -> None:
        super().__init__(wizard, frame)
        self.fields: dict[str, tuple[Field, bool]] = {}
        self.names: list[str] = []

    def _missing(self) -> list[str]:
        # Values the organization's policy sets are never asked for.
        return wizard_files.missing_env_names(self.w.services.paths, self.w.preset_env)

    def applies(self) -> bool:
        return bool(self.fields) or bool(self._missing())

    def show(self) -> None:
        from tray_agent.envstore import looks_secret

        names = self._missing()
        if names and names != self.names:
            for child in self.frame.winfo_children():
                child.destroy()
            self.fields.clear()
            ttk.Label(
                self.frame,
                text="Secret values go to the OS keyring; the others to the env file.",
                wraplength=self.w.px(460),
            ).grid(row=0, column=0, columnspan=2, sticky="w")
            for i, name in enumerate(names):
                secret = looks_secret(name)
                label = f"{name}{' (secret)' if secret else ''}"
                self.fields[name] = (Field(self.frame, 1 + 2 * i, label, secret=secret), secret)
            self.names = names
        if self.fields:
            next(iter(self.fields.values()))[0].entry.focus_set()

    def next(self, proceed: Callable[[], None]) -> None:
        from tray_agent.envstore import NewValue

        values = []
        bad = False
        for name, (field, secret) in self.fields.items():
            field.set_error(None)
            if not field.value:
                field.set_error("enter a value")
                bad = True
            values.append(NewValue(name, field.value, secret))
        if bad:
            return
        services = self.w.services
        first = next(iter(self.fields.values()))[0] if self.fields else None

        def failed(exc: Exception) -> None:
            if first is not None:
                first.set_error(str(exc))

        self.w.busy(
            lambda: wizard_files.save_env_values(services.paths, services.secrets, values),
            lambda _v: proceed(),
            failed,
            "Saving…",
        )


def _token_valid(wizard: WizardDialog) -> bool:
    try:
        status = wizard.services.call("status", timeout=10)
    except Exception:
        return False
    token = (status or {}).get("token") if isinstance(status, dict) else None
    return isinstance(token, dict) and token.get("state") == "valid"


class SignInStep(Step):
    title = "Sign in to the internal LLM API"

    def __init__(self, wizard: WizardDialog, frame: ttk.Frame) -> None:
        super().__init__(wizard, frame)
        self.form = SignInForm(wizard, frame, 0, last_employee_id(wizard.services))
        self.diagnosis = Diagnosis(wizard, frame, 6)
        self.signed_in = False

    def applies(self) -> bool:
        if self.signed_in:
            return True  # Back from a later step shows it again
        # A wizard resumed after a sign-in (cancelled, or re-run from the tray) skips it.
        return wizard_files.needs_sign_in(self.w.services.paths) and not _token_valid(self.w)

    def show(self) -> None:
        self.form.employee.entry.focus_set()

    def next(self, proceed: Callable[[], None]) -> None:
        if self.signed_in:
            proceed()
            return
        if not self.form.validate():
            return
        self.diagnosis.clear()
        self.w.status.set("Loading the new configuration…")

        def reloaded(_v: Any) -> None:
            self.w.status.set("")

            def done(result: dict[str, Any]) -> None:
                self.signed_in = True
                self.w.signed_in = True
                proceed()

            self.form.submit(
                done, self.w.next_button, lambda m: self.diagnosis.run(SIGN_IN_CHECKS, m)
            )

        def failed(exc: Exception) -> None:
            self.w.status.set("")
            self.form.password.set_error(str(exc))
            self.diagnosis.run(SIGN_IN_CHECKS)

        self.w.background(lambda: self.w.services.call("reload", timeout=30), reloaded, failed)


class StartStep(Step):
    title = "Start the proxy"

    def __init__(self, wizard: WizardDialog, frame: ttk.Frame) -> None:
        super().__init__(wizard, frame)
        self.info = tk.StringVar(frame, value="")
        ttk.Label(frame, textvariable=self.info, wraplength=wizard.px(460)).grid(
            row=0, column=0, columnspan=2, sticky="w"
        )
        self.error = tk.StringVar(frame, value="")
        ttk.Label(
            frame, textvariable=self.error, style="Error.TLabel", wraplength=wizard.px(460)
        ).grid(row=1, column=0, columnspan=2, sticky="w")
        self.progress = ttk.Progressbar(frame, mode="indeterminate", length=wizard.px(300))
        self.progress.grid(row=2, column=0, columnspan=2, sticky="w", pady=(wizard.px(10), 0))
        self.progress.grid_remove()  # shown while starting
        self.diagnosis = Diagnosis(wizard, frame, 3)
        self.started: dict[str, Any] | None = None

    def show(self) -> None:
        if self.started is None:
            self.info.set("Press Start: the local proxy takes 10 to 30 seconds to come up.")
            # Without an OS keyring the sign-in lasts one run only: said before it surprises.
            self.diagnosis.run(KEYRING_CHECKS)
            if self.w.express and not self.error.get():
                self.w.root.after(50, self.w.next)  # one press already said "set up"
        self.w.next_button.focus_set()

    def next(self, proceed: Callable[[], None]) -> None:
        if self.started is not None:
            proceed()
            return
        self.error.set("")
        self.diagnosis.clear()
        self.progress.grid()
        self.progress.start(60)
        self.info.set("Starting the local proxy…")

        def work() -> dict[str, Any]:
            self.w.services.call("reload", timeout=30)
            sc: dict[str, Any] = self.w.services.call("restart", timeout=300)
            return sc

        def done(sc: dict[str, Any]) -> None:
            self.progress.stop()
            self.progress.grid_remove()
            self.started = sc
            self.w.url = sc.get("url")
            self.info.set(f"The proxy runs at {sc.get('url')}.")
            proceed()

        def failed(exc: Exception) -> None:
            self.progress.stop()
            self.progress.grid_remove()
            self.info.set("The proxy did not start. Fix the problem, then press Start again.")
            self.error.set(str(exc)[:600])
            self.diagnosis.run(START_CHECKS)

        self.w.busy(work, done, failed, "Starting…")


class DoneStep(Step):
    title = "Ready: set up your tools"

    def __init__(self, wizard: WizardDialog, frame: ttk.Frame) -> None:
        super().__init__(wizard, frame)
        self.panel: ToolsPanel | None = None

    @property
    def copied(self) -> list[str]:
        return self.panel.copied if self.panel else []

    def show(self) -> None:
        if self.panel is not None:
            return
        # The same list, diff and tests as the tray's "Set up coding tools…".
        express = bool(self.w.express)
        self.panel = ToolsPanel(
            self.w,
            self.frame,
            0,
            self.w.url,
            preselect=self.w.express_tools if express else None,
            auto_apply=express,
        )
