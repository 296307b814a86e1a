"""When a first-run step fails, the doctor checks that explain it, shown on the spot.

Sign-in failures look at the IAM (DNS, TCP, TLS with the company CA, HTTP) and the clock;
the IAM's own refusal (a wrong or expired password) is said in plain words. A proxy that
does not start looks at the config, the port (who holds it) and the keyring. The first
failing check's detail and fix are shown under the error the agent gave; the checks send
nothing with the user's password (nothing counts as an attempt). The start page also says
up front when no OS keyring is usable. Proxy variables that capture loopback traffic are
named by each tool's test (``clients.testfail``).
"""

from __future__ import annotations

import tkinter as tk
from tkinter import ttk
from typing import Any

from tray_agent.doctor.checks import Check
from tray_agent.doctor.config_checks import check_config, check_keyring
from tray_agent.doctor.context import CheckResult
from tray_agent.doctor.iam_checks import check_clock, check_iam
from tray_agent.doctor.port_check import check_port
from tray_agent.paths import Paths

SIGN_IN_CHECKS: list[Check] = [check_config, check_iam, check_clock, check_keyring]
START_CHECKS: list[Check] = [check_config, check_port, check_keyring]
KEYRING_CHECKS: list[Check] = [check_keyring]


def first_problem(paths: Paths, checks: list[Check]) -> CheckResult | None:
    """The first of ``checks`` that fails (else the first warning), with the running agent."""
    from tray_agent.doctor.report import run_doctor

    report = run_doctor(paths, checks=checks)
    for wanted in ("fail", "warn"):
        for c in report.checks:
            if c.status == wanted:
                return c
    return None


def from_message(message: str) -> CheckResult | None:
    """What the IAM's own refusal means when every check passes (the IAM was reached)."""
    low = message.lower()
    if "expired" in low and "password" in low:
        return CheckResult(
            "iam_password",
            "company password",
            "fail",
            "the IAM says your company password has expired",
            "change it where your company changes passwords, then sign in here with the new one",
        )
    if "refused the sign-in" in low or "http 401" in low or "invalid" in low:
        return CheckResult(
            "iam_password",
            "company password",
            "fail",
            "the IAM refused this employee ID and password (one attempt was sent; the "
            "bridge never repeats one, so it adds nothing toward a lockout)",
            "check both, then press Next again",
        )
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

    def run(self, checks: list[Check], message: str = "") -> None:
        """Run ``checks``; when none fails, explain ``message`` (the agent's error) if known."""
        self.text.set("Looking for the cause…")
        paths = self.dialog.services.paths

        def shown(problem: CheckResult | None) -> None:
            if problem is None or problem.status != "fail":
                problem = from_message(message) or problem
            self.problem = problem
            self.text.set(explain(problem))

        self.dialog.background(
            lambda: first_problem(paths, checks), shown, lambda exc: self.text.set("")
        )
