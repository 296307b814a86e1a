"""Local account file: a scrypt hash with a per-user random salt, plus lockout bookkeeping.

The file (``paths.account_file``, JSON, 0600, written atomically) never holds the password.
Failed attempts are counted in the same file so that every process (tray, dialogs, CLI)
shares one lockout: after ``FREE_ATTEMPTS`` failures each further failure locks the account
for a delay that doubles, up to ``MAX_DELAY``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tray_agent import formats
from tray_agent.fsutil import atomic_write, file_lock
from tray_agent.platform import POSIX_PERMISSIONS

FILE_VERSION = formats.ACCOUNT.current
MIN_LENGTH = 8
FREE_ATTEMPTS = 3
BASE_DELAY = 5.0
MAX_DELAY = 15 * 60.0
# scrypt cost: ~64 MiB of memory and ~0.1-0.3 s per check on a laptop.
SCRYPT_N = 2**16
SCRYPT_R = 8
SCRYPT_P = 1


class AccountError(Exception):
    """An account operation that cannot be done; the message says what to do."""


class WrongPassword(AccountError):
    def __init__(self, failures: int, locked_for: float) -> None:
        msg = "wrong password"
        if locked_for > 0:
            msg += f"; too many failures, try again in {_span(locked_for)}"
        super().__init__(msg)
        self.failures = failures
        self.locked_for = locked_for


class LockedOut(AccountError):
    def __init__(self, remaining: float) -> None:
        super().__init__(
            f"too many wrong passwords: locked for {_span(remaining)} more; try again later"
        )
        self.remaining = remaining


def _span(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    return f"{round(seconds / 60)} min"


def lockout_delay(failures: int) -> float:
    """How long the account stays locked after ``failures`` consecutive failures."""
    if failures < FREE_ATTEMPTS:
        return 0.0
    return min(MAX_DELAY, BASE_DELAY * 2 ** (failures - FREE_ATTEMPTS))


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"use at least {MIN_LENGTH} characters"
    if password.strip() != password:
        return "no spaces at the start or end"
    return None


@dataclass
class _Record:
    version: int
    kdf: str
    n: int
    r: int
    p: int
    salt: str
    hash: str
    created_at: float
    failures: int = 0
    locked_until: float = 0.0

    @classmethod
    def from_json(cls, data: Any) -> _Record:
        if not isinstance(data, dict) or data.get("kdf") != "scrypt":
            raise ValueError("not an account file")
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )


class Account:
    """The local account stored in ``path``; ``clock`` is wall time (lockouts survive restarts)."""

    def __init__(
        self,
        path: Path | str,
        clock: Callable[[], float] = time.time,
        cost: tuple[int, int, int] = (SCRYPT_N, SCRYPT_R, SCRYPT_P),
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self.cost = cost

    # -- state ----------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def _load(self) -> _Record:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise AccountError(
                "no local account yet: create one with `litellm-bridge account create`"
            ) from exc
        except OSError as exc:
            raise AccountError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        try:
            # Never misread (or call damaged) what a newer release wrote: after a rollback
            # the newer version can still read it.
            data = formats.upgrade(json.loads(raw), formats.ACCOUNT.name, self.path)
            return _Record.from_json(data)
        except formats.FormatError as exc:
            raise AccountError(str(exc)) from exc
        except (ValueError, TypeError) as exc:
            raise AccountError(
                f"{self.path} is damaged; remove it and create the account again "
                "(`litellm-bridge account create`)"
            ) from exc
        except OSError as exc:  # the migrated file could not be written
            raise AccountError(str(exc)) from exc

    def _save(self, rec: _Record) -> None:
        try:
            atomic_write(self.path, json.dumps(asdict(rec), indent=2) + "\n", mode=0o600)
        except OSError as exc:
            raise AccountError(str(exc)) from exc

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the file's lock from a read to its write.

        Without it, parallel wrong guesses each count from the same number of failures and
        the lockout never grows; the check runs under the lock too, so guesses queue up.
        """
        lock = file_lock(self.path)
        try:
            lock.__enter__()
        except OSError as exc:
            raise AccountError(exc.strerror or str(exc)) from exc
        try:
            yield
        finally:
            lock.__exit__(None, None, None)

    def locked_for(self) -> float:
        """Seconds left in the current lockout (0 when not locked or no account)."""
        if not self.exists():
            return 0.0
        return max(0.0, self._load().locked_until - self.clock())

    def failures(self) -> int:
        return self._load().failures if self.exists() else 0

    # -- operations -----------------------------------------------------------------------
    def _new_record(self, password: str, created_at: float) -> _Record:
        problem = password_problem(password)
        if problem:
            raise AccountError(f"password refused: {problem}")
        n, r, p = self.cost
        salt = secrets.token_bytes(16)
        digest = _derive(password, salt, n, r, p)
        return _Record(
            version=FILE_VERSION,
            kdf="scrypt",
            n=n,
            r=r,
            p=p,
            salt=base64.b64encode(salt).decode(),
            hash=base64.b64encode(digest).decode(),
            created_at=created_at,
        )

    def create(self, password: str) -> None:
        """Create the account; refuses to replace an existing one."""
        record = self._new_record(password, self.clock())
        with self._locked():
            if self.exists():
                raise AccountError(
                    f"a local account already exists ({self.path}); change its password with "
                    "`litellm-bridge account passwd`"
                )
            self._save(record)
        if POSIX_PERMISSIONS:
            os.chmod(self.path, 0o600)

    def verify(self, password: str) -> None:
        """Raise LockedOut, WrongPassword or AccountError unless ``password`` is right."""
        with self._locked():
            self._verify(password)

    def _verify(self, password: str) -> None:
        rec = self._load()
        now = self.clock()
        if rec.locked_until > now:
            raise LockedOut(rec.locked_until - now)
        digest = _derive(password, base64.b64decode(rec.salt), rec.n, rec.r, rec.p)
        if hmac.compare_digest(digest, base64.b64decode(rec.hash)):
            if rec.failures or rec.locked_until:
                rec.failures, rec.locked_until = 0, 0.0
                self._save(rec)
            return
        rec.failures += 1
        delay = lockout_delay(rec.failures)
        rec.locked_until = now + delay if delay else 0.0
        self._save(rec)
        raise WrongPassword(rec.failures, delay)

    def check(self, password: str) -> bool:
        """True when the password is right; False on a wrong one (lockouts still raise)."""
        try:
            self.verify(password)
        except WrongPassword:
            return False
        return True

    def change(self, old: str, new: str) -> None:
        with self._locked():
            self._verify(old)
            rec = self._load()
            self._save(self._new_record(new, rec.created_at))
