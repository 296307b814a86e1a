"""The local account: one password per user, guarding secrets and config edits in the tray."""

from tray_agent.account.store import (
    Account,
    AccountError,
    LockedOut,
    WrongPassword,
    lockout_delay,
    password_problem,
)

__all__ = [
    "Account",
    "AccountError",
    "LockedOut",
    "WrongPassword",
    "lockout_delay",
    "password_problem",
]
