"""When a first-run step fails, the doctor checks that explain it, shown on the spot.

Sign-in failures look at the IAM (DNS, TCP, TLS with the company CA, HTTP), the clock and
the proxy variables; a proxy that does not start looks at the config, the port (who holds
it) and the keyring. The first failing check's detail and fix are shown under the error the
agent gave; the checks send nothing with the user's password (nothing counts as an attempt).
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Any

from tray_agent.doctor.checks import Check
from tray_agent.doctor.config_checks import check_config, check_keyring
from tray_agent.doctor.context import CheckResult
from tray_agent.doctor.environment_checks import check_proxy_env
from tray_agent.doctor.iam_checks import check_clock, check_iam
from tray_agent.doctor.port_check import check_port
from tray_agent.paths import Paths

SIGN_IN_CHECKS: list[Check] = [check_config, check_iam, check_clock, check_keyring]
START_CHECKS: list[Check] = [check_config, check_port, check_keyring]
TOOLS_CHECKS: list[Check] = [check_proxy_env]


def first_problem(paths: Paths, checks: list[Check]) -> CheckResult | None:
    """The first of ``checks`` that fails (else the first warning), with the running agent."""
    from tray_agent.doctor.report import run_doctor

    report = run_doctor(paths, checks=checks)
    for wanted in ("fail", "warn"):
        for c in report.checks:
            if c.status == wanted:
                return c
    return None


def explain(problem: CheckResult | None) -> str:
    if problem is None:
        return ""
    text = f"Cause: {problem.detail}"
    if problem.fix:
        text += f"\nFix: {problem.fix}"
    return text


class Diagnosis:
    """A label under a step's error that shows why, from the doctor's checks."""

    def __init__(self, dialog: Any, parent: tk.Misc, row: int) -> None:
        self.dialog = dialog
        self.text = tk.StringVar(parent, value="")
        self.problem: CheckResult | None = None
        ttk.Label(
            parent, textvariable=self.text, style="Error.TLabel", wraplength=dialog.px(480)
        ).grid(row=row, column=0, columnspan=2, sticky="w", pady=(dialog.px(4), 0))

    def clear(self) -> None:
        self.text.set("")
        self.problem = None

    def run(self, checks: list[Check]) -> None:
        self.text.set("Looking for the cause…")
        paths = self.dialog.services.paths

        def shown(problem: CheckResult | None) -> None:
            self.problem = problem
            self.text.set(explain(problem))

        self.dialog.background(
            lambda: first_problem(paths, checks), shown, lambda exc: self.text.set("")
        )
