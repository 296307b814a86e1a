"""What an IAM call ends in: a :class:`Grant`, or an :class:`IamError` saying whether to retry.

The refresh schedule tells a blip (:class:`TransientIamError`: retry later) from something only
the user can fix (:class:`PermanentIamError`: stop). No message ever contains a password or a
token.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Grant:
    """A token the IAM issued. ``repr`` hides the secrets so logs cannot leak them."""

    token: str
    expires_at: float
    refresh_token: str | None
    employee_id: str
    note: str | None = None
    """Set when the IAM's expiry was adjusted (clamped), saying how; never a secret."""

    def __repr__(self) -> str:
        return (
            f"Grant(employee_id={self.employee_id!r}, expires_at={self.expires_at!r}, "
            f"refresh_token={'<set>' if self.refresh_token else None})"
        )


class IamError(Exception):
    """Base of every IAM failure; ``str()`` is a message the user can act on."""

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class TransientIamError(IamError):
    """Timeouts, connection errors, 5xx, 429: worth retrying later."""

    def __init__(self, message: str, url: str | None = None, retry_after: float | None = None):
        super().__init__(message, url)
        self.retry_after = retry_after


class PermanentIamError(IamError):
    """Retrying will not help: the user (or the config) must change something."""


class InvalidCredentialsError(PermanentIamError):
    """The IAM refused the employee ID / password (or the refresh token)."""


class IamResponseError(PermanentIamError):
    """The IAM answered, but not in the shape the profile describes."""


class IamConfigError(PermanentIamError):
    """The profile cannot be used as written (missing env entry, unreadable CA bundle)."""


class CannotRefreshSilently(IamError):
    """This grant can only be renewed by signing in again with the password."""
