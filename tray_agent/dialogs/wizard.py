"""First-run wizard: local account -> template -> env values -> sign in -> start -> CLI setup.

Each step writes what it collected right away (account file, config.yaml, env store), then
asks the running agent (control channel) to reload, sign in and start, showing any error
next to the field it concerns.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import Any

import yaml

from tray_agent.account import password_problem
from tray_agent.config import yamlload
from tray_agent.dialogs.base import Dialog, Field
from tray_agent.dialogs.setup import SetupPanel
from tray_agent.dialogs.signin import SignInForm, last_employee_id


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
            self.w.services.paths.ensure()
            self.w.services.account.create(pw)

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
        self.keep = wizard.services.paths.config_file.exists()
        row = 0
        if self.keep:
            ttk.Radiobutton(
                frame,
                text="Keep my current config.yaml",
                value="",
                variable=self.choice,
            ).grid(row=row, column=0, columnspan=2, sticky="w")
            row += 1
        for t in self.templates:
            rb = ttk.Radiobutton(frame, text=t.name, value=t.name, variable=self.choice)
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
            from tray_agent.commands.init import replace_config
            from tray_agent.config.templates import instantiate

            paths = self.w.services.paths
            paths.ensure()
            # Same locked backup-then-write as `init --force`.
            replace_config(paths.config_file, instantiate(template.text(), port), force=True)

        def done(_v: Any) -> None:
            self.w.template = name
            proceed()

        self.w.busy(work, done, lambda exc: self.error.set(str(exc)), "Writing config.yaml…")


def config_data(paths: Any) -> dict[str, Any]:
    try:
        data = yamlload.load_file(paths.config_file)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


class EnvStep(Step):
    title = "Values your configuration needs"

    def __init__(self, wizard: WizardDialog, frame: ttk.Frame) -> None:
        super().__init__(wizard, frame)
        self.fields: dict[str, tuple[Field, bool]] = {}
        self.names: list[str] = []

    def _missing(self) -> list[str]:
        from tray_agent.config.refs import env_names
        from tray_agent.config.validate import EXEMPT_ENV
        from tray_agent.envstore import EnvStore

        data = config_data(self.w.services.paths)
        try:
            have = EnvStore(self.w.services.paths.env_file, None).enabled_names()
        except Exception:
            have = set()
        return sorted(env_names(data) - EXEMPT_ENV - have)

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
        from tray_agent.envstore import EnvStore, NewValue

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
        store = EnvStore(self.w.services.paths.env_file, self.w.services.secrets)
        first = next(iter(self.fields.values()))[0] if self.fields else None

        def failed(exc: Exception) -> None:
            if first is not None:
                first.set_error(str(exc))

        self.w.busy(lambda: store.set_many(values), lambda _v: proceed(), failed, "Saving…")


class SignInStep(Step):
    title = "Sign in to the internal LLM API"

    def __init__(self, wizard: WizardDialog, frame: ttk.Frame) -> None:
        super().__init__(wizard, frame)
        self.form = SignInForm(wizard, frame, 0, last_employee_id(wizard.services))
        self.signed_in = False

    def applies(self) -> bool:
        bridge = config_data(self.w.services.paths).get("bridge") or {}
        return isinstance(bridge, dict) and bool(bridge.get("iam"))

    def show(self) -> None:
        self.form.employee.entry.focus_set()

    def next(self, proceed: Callable[[], None]) -> None:
        if self.signed_in:
            proceed()
            return
        if not self.form.validate():
            return
        self.w.status.set("Loading the new configuration…")

        def reloaded(_v: Any) -> None:
            self.w.status.set("")

            def done(result: dict[str, Any]) -> None:
                self.signed_in = True
                self.w.signed_in = True
                proceed()

            self.form.submit(done, self.w.next_button)

        def failed(exc: Exception) -> None:
            self.w.status.set("")
            self.form.password.set_error(str(exc))

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
        self.started: dict[str, Any] | None = None

    def show(self) -> None:
        if self.started is None:
            self.info.set("Press Start: the local proxy takes 10 to 30 seconds to come up.")
        self.w.next_button.focus_set()

    def next(self, proceed: Callable[[], None]) -> None:
        if self.started is not None:
            proceed()
            return
        self.error.set("")
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

        self.w.busy(work, done, failed, "Starting…")


class DoneStep(Step):
    title = "Ready: set up your tools"

    def __init__(self, wizard: WizardDialog, frame: ttk.Frame) -> None:
        super().__init__(wizard, frame)
        self.panel: SetupPanel | None = None

    @property
    def copied(self) -> list[str]:
        return self.panel.copied if self.panel else []

    def show(self) -> None:
        if self.panel is not None:
            return
        from tray_agent.clients.summary import setup_summary

        url = self.w.url or "http://127.0.0.1:4000"
        try:
            key = self.w.services.call("key", timeout=10)["key"]
        except Exception:
            key = None
        # The same text as the tray's Copy CLI setup… for this URL.
        self.panel = SetupPanel(self.w, self.frame, 0, setup_summary(url), key)


class WizardDialog(Dialog):
    title = "LiteLLM Bridge: first-run setup"

    def build(self) -> None:
        self.created_account = False
        self.template: str | None = None
        self.signed_in = False
        self.url: str | None = None
        f = self.frame
        f.columnconfigure(0, weight=1)
        f.rowconfigure(2, weight=1)
        self.heading = tk.StringVar(f, value="")
        self.counter = tk.StringVar(f, value="")
        ttk.Label(f, textvariable=self.heading, style="Title.TLabel").grid(
            row=0, column=0, sticky="w"
        )
        ttk.Label(f, textvariable=self.counter, style="Muted.TLabel").grid(
            row=1, column=0, sticky="w"
        )
        self.body = ttk.Frame(f)
        self.body.grid(row=2, column=0, sticky="nsew", pady=(self.px(10), 0))
        self.body.columnconfigure(0, weight=1)
        self.body.rowconfigure(0, weight=1)
        self.status = tk.StringVar(f, value="")
        ttk.Label(f, textvariable=self.status, style="Muted.TLabel").grid(
            row=3, column=0, sticky="w"
        )
        self.back_button, self.next_button, self.cancel_button = self.buttons(
            f, 4, [("Back", self.back), ("Next", self.next), ("Cancel", self.cancel)], default=1
        )
        self.root.bind("<Return>", self._on_return)
        self.steps: list[Step] = []
        for cls in (AccountStep, TemplateStep, EnvStep, SignInStep, StartStep, DoneStep):
            frame = ttk.Frame(self.body)
            frame.grid(row=0, column=0, sticky="nsew")
            frame.grid_remove()
            self.steps.append(cls(self, frame))
        self.index = -1
        self._busy = False
        self.goto(self._next_index(-1))

    def _on_return(self, event: Any) -> str | None:
        if isinstance(event.widget, tk.Text):
            return None
        if isinstance(event.widget, ttk.Button) and event.widget is not self.next_button:
            event.widget.invoke()
            return "break"
        self.next()
        return "break"

    def _next_index(self, i: int) -> int:
        j = i + 1
        while j < len(self.steps) - 1 and not self.steps[j].applies():
            j += 1
        return j

    def _prev_index(self, i: int) -> int:
        j = i - 1
        while j > 0 and not self.steps[j].applies():
            j -= 1
        return max(j, 0)

    @property
    def step(self) -> Step:
        return self.steps[self.index]

    def goto(self, i: int) -> None:
        if 0 <= self.index < len(self.steps):
            self.step.frame.grid_remove()
        self.index = i
        step = self.step
        step.frame.grid()
        self.heading.set(step.title)
        self.counter.set(f"Step {i + 1} of {len(self.steps)}")
        last = i == len(self.steps) - 1
        is_start = isinstance(step, StartStep) and step.started is None
        self.next_button.configure(text="Finish" if last else "Start" if is_start else "Next")
        self.back_button.state(["disabled"] if i == 0 or last else ["!disabled"])
        self.status.set("")
        step.show()

    def next(self) -> None:
        if self._busy:
            return
        if self.index == len(self.steps) - 1:
            self.finish(self.summary())
            return
        self.step.next(lambda: self.goto(self._next_index(self.index)))

    def back(self) -> None:
        if not self._busy and self.index > 0:
            self.goto(self._prev_index(self.index))

    def busy(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[Exception], None],
        message: str,
    ) -> None:
        """Run a step's work in the background with the buttons disabled."""
        self._busy = True
        self.status.set(message)
        for b in (self.back_button, self.next_button):
            b.state(["disabled"])

        def finish() -> None:
            self._busy = False
            self.status.set("")
            self.next_button.state(["!disabled"])
            if self.index > 0:
                self.back_button.state(["!disabled"])

        def ok(v: Any) -> None:
            finish()
            done(v)

        def bad(exc: Exception) -> None:
            finish()
            failed(exc)

        self.background(work, ok, bad)

    def summary(self) -> dict[str, Any]:
        done = self.steps[-1]
        return {
            "ok": True,
            "account_created": self.created_account,
            "template": self.template,
            "signed_in": self.signed_in,
            "url": self.url,
            "copied": list(done.copied) if isinstance(done, DoneStep) else [],
        }
