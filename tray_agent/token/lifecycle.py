"""The token's lifecycle: sign in, renew before expiry, back off, stop when only the user can help.

:class:`TokenManager` holds the state and decides; it has no thread of its own and takes the
time as an argument (``run_due(now)``), so tests drive it with a fake clock. The thread that
runs it for the agent is :class:`~tray_agent.token.refresher.TokenRefresher`.

Password rule: a password typed by the user is tried exactly once. A remembered password may
sign in again silently when there is no refresh token, but once the IAM refuses it, it is
forgotten and the user is asked to sign in: no retry loop can lock the account.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tray_agent.secrets import SecretStore
from tray_agent.token.iam import (
    CannotRefreshSilently,
    Grant,
    Iam,
    IamConfigError,
    IamError,
    InvalidCredentialsError,
    PermanentIamError,
    TransientIamError,
)
from tray_agent.token.schedule import DEFAULT_POLICY, RefreshPolicy, backoff_delay, refresh_at
from tray_agent.token.store import PersistedState, TokenStatus, TokenStore, status_from_state

log = logging.getLogger("tray_agent.token")

IamSource = Iam | Callable[[], Iam] | None
OnToken = Callable[[str | None, float | None], None]
OnState = Callable[[TokenStatus], None]
SIGN_IN_HINT = 'sign in with "litellm-bridge token login"'


class TokenManager:
    """Owns the token; thread-safe, but meant to be driven by one :class:`TokenRefresher`."""

    def __init__(
        self,
        iam: IamSource,
        secrets: SecretStore,
        state_path: Path | str,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        on_token: OnToken | None = None,
        on_state: OnState | None = None,
        notify_before: float = 300.0,
        policy: RefreshPolicy = DEFAULT_POLICY,
    ) -> None:
        self._iam_source = iam
        self.store = TokenStore(secrets, state_path)
        self.clock = clock
        self._rng = rng or random.Random()
        self._on_token = on_token
        self._on_state = on_state
        self.notify_before = notify_before
        self.policy = policy
        self._lock = threading.RLock()  # guards the fields below
        self._op = threading.RLock()  # one IAM operation at a time
        self._st = self.store.load_state()
        self._grant: Grant | None = None
        self._loaded = False
        self._refreshing = False
        self._attempt = 0
        self._stopped = False
        self._last_status: TokenStatus | None = None

    # -- public API ------------------------------------------------------------------

    def set_iam(self, iam: IamSource) -> None:
        """Use another IAM profile (config changed); a stopped refresh may try again.

        Call :meth:`TokenRefresher.wake` afterwards so the new schedule takes effect.
        """
        with self._lock:
            self._iam_source = iam
            self._stopped = False
            if self._grant is not None:
                self._st.can_refresh_silently = self._can_refresh_silently(self._grant)
                self._schedule(self.clock())
        self._save()
        self._emit_state()

    def reload(self) -> None:
        """Read the stored token again: another agent (the one this took over from) may
        have renewed it since ``load``."""
        with self._op:
            self._loaded = False
        self.load()

    def load(self) -> None:
        """Read the stored token (unlocks the keyring) and announce it. Idempotent."""
        with self._op:
            if self._loaded:
                return
            st = self.store.load_state()
            grant = self.store.load_grant(st)
            now = self.clock()
            with self._lock:
                self._loaded = True
                self._st = st
                self._grant = grant
                if grant is None and st.has_token and self.store.grant_problem:
                    st.last_error = self.store.grant_problem
                    st.error_permanent = False
                st.has_token = grant is not None
                st.password_remembered = self.store.password() is not None
                st.can_refresh_silently = grant is not None and self._can_refresh_silently(grant)
                self._schedule(now)
            self._save()
            if grant is not None and grant.expires_at > now:
                self._emit_token(grant.token, grant.expires_at)
            self._emit_state()

    def status(self) -> TokenStatus:
        with self._lock:
            status = status_from_state(
                self._st, self.clock(), self.notify_before, refreshing=self._refreshing
            )
        if not self.store.secrets.persistent:
            status = dataclasses.replace(status, kept_in_memory=True)
        return status

    def run_due(self, now: float) -> float | None:
        """Refresh if due at ``now``; return when to call again (None: only on a command)."""
        with self._op:
            self.load()
            with self._lock:
                due = self._st.next_refresh_at
                run = not self._stopped and due is not None and now >= due
            if run:
                self._renew(raise_errors=False)
            self._emit_state()
            return self._next_wakeup(self.clock())

    def login(self, employee_id: str, password: str, remember: bool = False) -> TokenStatus:
        """Sign in once with a password the user typed; raises :class:`IamError` on failure."""
        employee_id = employee_id.strip()
        if not employee_id or not password:
            raise PermanentIamError("an employee ID and a password are both needed to sign in")
        with self._op:
            self.load()
            iam = self._iam()
            self._set_refreshing(True)
            try:
                grant = iam.login(employee_id, password)
            except IamError as exc:
                # Shown to the user who typed the password; the schedule of a token that
                # may still be valid is left alone.
                with self._lock:
                    self._st.last_error = str(exc)
                    self._st.error_permanent = not isinstance(exc, TransientIamError)
                self._set_refreshing(False, announce=False)
                self._save()
                self._emit_state()
                raise
            self._set_refreshing(False, announce=False)
            if remember:
                self.store.remember_password(password)
            else:
                self.store.forget_password()
            with self._lock:
                self._st.password_remembered = remember
            self._accept(grant)
            return self.status()

    def refresh_now(self) -> TokenStatus:
        """Renew at once without the password; raises :class:`IamError` when it fails."""
        with self._op:
            self.load()
            with self._lock:
                self._stopped = False
            self._renew(raise_errors=True)
            return self.status()

    def logout(self) -> TokenStatus:
        """Forget the token, refresh token and remembered password; keep the employee ID."""
        with self._op:
            self.store.clear_secrets()
            with self._lock:
                self._loaded = True
                self._grant = None
                self._stopped = False
                self._attempt = 0
                self._st = PersistedState(employee_id=self._st.employee_id)
            self._save()
            self._emit_token(None, None)
            self._emit_state()
            return self.status()

    # -- renewal ---------------------------------------------------------------------

    def _renew(self, raise_errors: bool) -> None:
        self._set_refreshing(True)
        try:
            grant = self._silent_grant(self._iam())
        except CannotRefreshSilently:
            # Nothing failed: this token just cannot be renewed without the user.
            with self._lock:
                self._st.next_refresh_at = None
            self._set_refreshing(False)
            if raise_errors:
                raise
            return
        except IamError as exc:
            self._set_refreshing(False, announce=False)
            self._record_failure(exc, stop=not isinstance(exc, TransientIamError))
            if raise_errors:
                raise
            return
        self._set_refreshing(False, announce=False)
        self._accept(grant)

    def _silent_grant(self, iam: Iam) -> Grant:
        """Refresh grant if possible, else the remembered password (once), else give up."""
        with self._lock:
            grant = self._grant
            employee_id = grant.employee_id if grant else self._st.employee_id
        if grant is not None and iam.can_refresh(grant):
            try:
                return iam.refresh(grant)
            except InvalidCredentialsError:
                # The session is over; the refresh token will not work again.
                self.store.secrets.delete("refresh-token")
                with self._lock:
                    self._grant = dataclasses.replace(grant, refresh_token=None)
                if self.store.password() is None:
                    raise
        password = self.store.password()
        if password and employee_id:
            try:
                return iam.login(employee_id, password)
            except InvalidCredentialsError as exc:
                self.store.forget_password()
                with self._lock:
                    self._st.password_remembered = False
                raise InvalidCredentialsError(
                    f"the remembered password for {employee_id} was refused by the IAM at "
                    f"{exc.url}; it has been forgotten and will not be tried again: "
                    f"{SIGN_IN_HINT}",
                    exc.url,
                ) from exc
        if grant is None:
            raise CannotRefreshSilently(f"no token to refresh: {SIGN_IN_HINT}")
        return iam.refresh(grant)  # raises CannotRefreshSilently with the dialect's reason

    def _accept(self, grant: Grant) -> None:
        now = self.clock()
        with self._lock:
            self._grant = grant
            self._attempt = 0
            self._stopped = False
            st = self._st
            st.employee_id = grant.employee_id
            st.expires_at = grant.expires_at
            st.has_token = True
            st.last_error = None
            st.error_permanent = False
            st.expiry_note = grant.note
            if grant.note:
                log.warning("token: %s", grant.note)
            st.can_refresh_silently = self._can_refresh_silently(grant)
            self._schedule(now)
        # Hand the token over first: the keyring (D-Bus) can be slow and the old token
        # may be about to expire.
        self._emit_token(grant.token, grant.expires_at)
        try:
            self.store.save_grant(grant)
        except Exception as exc:  # the token still works for this run
            log.warning("cannot keep the token in the secret store: %s", exc)
        self._save()
        self._emit_state()

    def _record_failure(self, exc: IamError, stop: bool) -> None:
        now = self.clock()
        with self._lock:
            st = self._st
            st.last_error = str(exc)
            st.error_permanent = not isinstance(exc, TransientIamError)
            if isinstance(exc, TransientIamError) and not stop:
                self._attempt += 1
                if self._grant is not None and st.can_refresh_silently:
                    delay = backoff_delay(self._attempt, self._rng, exc.retry_after, self.policy)
                    st.next_refresh_at = now + delay
            elif stop:
                self._stopped = True
                st.next_refresh_at = None
            if self._grant is not None:
                st.can_refresh_silently = self._can_refresh_silently(self._grant)
        log.warning("token: %s", exc)
        self._save()
        self._emit_state()

    # -- helpers ---------------------------------------------------------------------

    def _iam(self) -> Iam:
        source = self._iam_source
        if source is None:
            raise IamConfigError(
                "no IAM is configured: add a bridge.iam section to config.yaml "
                '(see "token contract" in the README)'
            )
        if isinstance(source, Iam):
            return source
        return source()

    def _can_refresh_silently(self, grant: Grant) -> bool:
        if self._st.password_remembered:
            return True
        try:
            return self._iam().can_refresh(grant)
        except IamError:
            return bool(grant.refresh_token)

    def _schedule(self, now: float) -> None:
        """Set the next refresh time from the current grant (lock held)."""
        grant = self._grant
        if grant is None or not self._st.can_refresh_silently or self._stopped:
            self._st.next_refresh_at = None
        else:
            self._st.next_refresh_at = refresh_at(now, grant.expires_at, self._rng, self.policy)

    def _next_wakeup(self, now: float) -> float | None:
        with self._lock:
            candidates: list[float] = []
            if not self._stopped and self._st.next_refresh_at is not None:
                candidates.append(max(now, self._st.next_refresh_at))
            if self._grant is not None:
                # Wake at the moments the state changes by itself, to announce them.
                for t in (self._grant.expires_at - self.notify_before, self._grant.expires_at):
                    if t > now:
                        candidates.append(t)
            return min(candidates) if candidates else None

    def _set_refreshing(self, value: bool, announce: bool = True) -> None:
        with self._lock:
            self._refreshing = value
        if announce:
            self._emit_state()

    def _save(self) -> None:
        with self._lock:
            snapshot = dataclasses.replace(self._st)
        try:
            self.store.save_state(snapshot)
        except OSError as exc:
            log.warning("cannot write the token state file %s: %s", self.store.state_path, exc)

    def _emit_token(self, token: str | None, expires_at: float | None) -> None:
        if self._on_token is not None:
            _safe_call(self._on_token, token, expires_at)

    def _emit_state(self) -> None:
        status = self.status()
        with self._lock:
            if status == self._last_status:
                return
            self._last_status = status
        if self._on_state is not None:
            _safe_call(self._on_state, status)


def _safe_call(fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # a broken listener must not stop token refresh
        log.exception("token callback %r failed", fn)
