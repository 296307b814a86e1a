"""First-run wizard: local account -> template -> env values -> sign in -> start -> CLI setup.

This module is the window that pages through the steps (``wizard_steps``) with Back/Next;
what each step writes to disk is in ``wizard_files``.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk
from typing import Any

from tray_agent.dialogs.base import Dialog
from tray_agent.dialogs.wizard_express import ExpressStep, express_mode
from tray_agent.dialogs.wizard_steps import (
    AccountStep,
    DoneStep,
    EnvStep,
    SignInStep,
    StartStep,
    Step,
    TemplateStep,
)

__all__ = [
    "AccountStep",
    "DoneStep",
    "EnvStep",
    "SignInStep",
    "StartStep",
    "Step",
    "TemplateStep",
    "WizardDialog",
]


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
        # An admin-deployed setup (managed config.yaml) asks only what the user knows.
        self.express, self.preset_env = express_mode(self.services)
        self.express_tools: list[str] | None = None
        kinds: tuple[type[Step], ...] = (
            AccountStep,
            TemplateStep,
            EnvStep,
            SignInStep,
            StartStep,
            DoneStep,
        )
        if self.express:
            kinds = (ExpressStep, EnvStep, StartStep, DoneStep)
        for cls in kinds:
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
            "tools": done.panel.result() if isinstance(done, DoneStep) and done.panel else {},
        }
