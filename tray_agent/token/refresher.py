"""The thread that keeps the token fresh: :class:`TokenRefresher` runs a ``TokenManager``.

It sleeps until the next renewal is due (bounded, so a clock jump after resume is noticed),
wakes on commands, and makes every blocking IAM call itself, so the agent core's loop never
waits on the network. What it decides is :class:`~tray_agent.token.lifecycle.TokenManager`'s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, TypeVar

from tray_agent.token.lifecycle import TokenManager
from tray_agent.token.store import TokenStatus

log = logging.getLogger("tray_agent.token")

T = TypeVar("T")
CONTROL_METHODS = ("token.login", "token.status", "token.refresh", "token.logout")
"""Control-channel methods, params and results: see :meth:`TokenRefresher.handle`."""


class TokenRefresher:
    """A thread that runs a :class:`TokenManager`: sleeps until due, wakes on commands.

    Every IAM call happens on this thread. Commands from other threads are queued with
    :meth:`submit` (or :meth:`login` / :meth:`refresh_now` / :meth:`logout`) and answered
    through a :class:`~concurrent.futures.Future`.
    """

    def __init__(
        self, manager: TokenManager, *, max_sleep: float = 30.0, name: str = "token-refresher"
    ) -> None:
        self.manager = manager
        # Bounded sleeps re-read the wall clock, which jumps after a laptop resumes.
        self.max_sleep = max_sleep
        self._cond = threading.Condition()
        self._jobs: list[tuple[Future[Any], Callable[[], Any]]] = []
        self._woken = False
        self._stopping = False
        # No refresh while set: the agent is handing over to, or taking over from, another
        # (one refresh token, two refreshers: the second would use a rotated-out one).
        self.held = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def wake(self) -> None:
        """Re-evaluate now (e.g. after a config change or a clock jump)."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._cond:
            if self._stopping:
                future.set_exception(RuntimeError("the token refresher is stopped"))
                return future
            self._jobs.append((future, fn))
            self._cond.notify_all()
        return future

    def login(self, employee_id: str, password: str, remember: bool) -> Future[TokenStatus]:
        return self.submit(lambda: self.manager.login(employee_id, password, remember))

    def refresh_now(self) -> Future[TokenStatus]:
        return self.submit(self.manager.refresh_now)

    def logout(self) -> Future[TokenStatus]:
        return self.submit(self.manager.logout)

    def handle(self, method: str, params: Mapping[str, Any]) -> Future[dict[str, Any]]:
        """Answer a control request (:data:`CONTROL_METHODS`) with a status dict, off-thread.

        ``token.status`` is answered at once; the others run on this thread. The future
        fails with the :class:`IamError` (its message is meant for the user).
        """
        out: Future[dict[str, Any]] = Future()
        if method == "token.status":
            out.set_result(self.manager.status().to_dict())
            return out
        job: Callable[[], TokenStatus]
        if method == "token.login":
            employee_id = str(params.get("employee_id") or "")
            password = str(params.get("password") or "")
            remember = bool(params.get("remember", False))
            job = lambda: self.manager.login(employee_id, password, remember)  # noqa: E731
        elif method == "token.refresh":
            job = self.manager.refresh_now
        elif method == "token.logout":
            job = self.manager.logout
        else:
            out.set_exception(ValueError(f"unknown token method {method!r}"))
            return out

        def relay(done: Future[TokenStatus]) -> None:
            if done.cancelled():
                out.set_exception(RuntimeError("the token refresher stopped"))
            elif (exc := done.exception()) is not None:
                out.set_exception(exc)
            else:
                out.set_result(done.result().to_dict())

        self.submit(job).add_done_callback(relay)
        return out

    def _run(self) -> None:
        due: float | None = None
        try:
            self.manager.load()
        except Exception:
            log.exception("cannot load the stored token")
        while True:
            with self._cond:
                while not (self._jobs or self._stopping or self._woken):
                    wait = self.max_sleep
                    if due is not None:
                        wait = min(wait, due - self.manager.clock())
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopping:
                    jobs, self._jobs = self._jobs, []
                    for future, _ in jobs:
                        future.cancel()
                    return
                jobs, self._jobs = self._jobs, []
                self._woken = False
            for future, fn in jobs:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn())
                    except BaseException as exc:
                        future.set_exception(exc)
            if self.held:  # another agent refreshes meanwhile (a hand-over under way)
                due = self.manager.clock() + self.max_sleep
                continue
            try:
                due = self.manager.run_due(self.manager.clock())
            except Exception:
                log.exception("token refresh failed unexpectedly")
                due = self.manager.clock() + self.max_sleep
