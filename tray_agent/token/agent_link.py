"""Wire the token refresher into a running agent.

The refresher thread makes every IAM call; a new token is posted to the core, which hands
it to the sidecar over its stdin (no restart, never a file). The IAM profile and the env
entries it references come from the config the core last validated; the client is built by
:func:`~tray_agent.token.iam.iam_from_config`, as ``litellm-bridge token`` builds it without an
agent.
"""

from __future__ import annotations

from typing import Any

from tray_agent.seams import ExtensionHost
from tray_agent.token.events import TokenChanged, TokenStateChanged
from tray_agent.token.iam import Iam, IamConfigError, iam_from_config
from tray_agent.token.lifecycle import TokenManager
from tray_agent.token.refresher import CONTROL_METHODS, TokenRefresher
from tray_agent.token.store import TokenStatus

HAND_OVER_WAIT = 60.0  # an IAM call under way ends within its own timeout


class TokenLink:
    """Runtime extension: ``start()``/``stop()``; answers the ``token.*`` control methods."""

    def __init__(self, rt: ExtensionHost) -> None:
        self.rt = rt
        agent = rt.agent
        self.manager = TokenManager(
            self._iam,
            rt.secrets,
            rt.paths.state_file,
            on_token=lambda token, exp: agent.post(TokenChanged(token, exp)),
            on_state=self._on_state,
        )
        self.refresher = TokenRefresher(self.manager)
        agent.on("config_changed", self._config_changed)
        # A successor loads the token (its sidecar needs it) but refreshes only once its
        # predecessor stopped refreshing, then re-reads what that one may have rotated.
        if rt.took_over is not None:
            self.refresher.held = True
            rt.took_over.append(self._took_over)
        rt.handing_over.append(self._handing_over)
        rt.resumed.append(self._resumed)
        for method in CONTROL_METHODS:
            rt.handlers[method] = lambda params, m=method: self._handle(m, params)

    def _iam(self) -> Iam:
        prepared = self.rt.agent.latest_prepared
        if prepared is None or prepared.iam is None:
            raise IamConfigError(
                "no IAM is configured: add a bridge.iam section to config.yaml "
                '(see "token contract" in the README)'
            )
        # prepared.env: the enabled env entries the sidecar is given on top of this process's
        # environment.
        return iam_from_config(prepared.iam, prepared.env, self.rt.paths.config_file.parent)

    def _on_state(self, status: TokenStatus) -> None:
        self.rt.agent.post(TokenStateChanged(status.to_dict()))

    def _config_changed(self, prepared: Any) -> None:
        self.manager.notify_before = float(prepared.notify_before)
        self.manager.set_iam(self._iam)
        self.refresher.wake()

    def _handle(self, method: str, params: dict[str, Any]) -> Any:
        return self.refresher.handle(method, params).result(120)

    def _handing_over(self) -> None:
        """Stop refreshing; a refresh under way finishes (and is stored) before we return."""
        self.refresher.held = True
        self.refresher.submit(lambda: None).result(HAND_OVER_WAIT)

    def _took_over(self) -> None:
        self.refresher.submit(self.manager.reload).result(HAND_OVER_WAIT)
        self.refresher.held = False
        self.refresher.wake()

    def _resumed(self) -> None:
        self.refresher.held = False
        self.refresher.wake()

    def start(self) -> None:
        self.rt.agent.post(TokenStateChanged(self.manager.status().to_dict()))
        self.refresher.start()

    def stop(self) -> None:
        self.refresher.stop()
