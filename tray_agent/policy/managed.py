"""What the admin lock does to the config a sidecar is started with (called by ``prepare``).

``lock.config``: config.yaml must equal the managed copy the admin ships beside the policy
(``managed_config``). A config.yaml that differs -- an edit by the user or one of their
tools, or the state found at agent start -- is never applied: it is replaced by the managed
copy first, and status carries a warning the tray announces. ``lock.iam`` and
``lock.fast_path`` without ``lock.config``: ``bridge.iam`` and ``bridge.fast_path`` come from
the managed config (or their defaults when none is shipped), whatever config.yaml says.

The policy is read from its files each time: ``prepare`` runs inside the agent, on the core
thread, and the agent re-prepares whenever the policy changes (``LockLink``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tray_agent.config.issues import ConfigInvalid, ConfigIssue
from tray_agent.fsutil import atomic_write, file_lock, read_bytes_capped
from tray_agent.policy.lock import UNLOCKED, LockState, from_files

if TYPE_CHECKING:
    from tray_agent.paths import Paths
    from tray_agent.secrets import SecretStore

MANAGED_MAX_BYTES = 2 * 1024 * 1024  # the same bound as config.yaml itself

RESTORED = "config.yaml was changed, but it is managed by your organization"
"""How the restore warning starts (the tray announces warnings that start so)."""


def is_restore_warning(issue: dict[str, Any]) -> bool:
    """Whether a status ``config.warnings`` entry reports a restored config.yaml."""
    return str(issue.get("message") or "").startswith(RESTORED)


@dataclass
class Enforcement:
    """The lock found for one ``prepare``, and what it changed (status warnings)."""

    state: LockState = UNLOCKED
    config_file: str = "config.yaml"
    notes: list[ConfigIssue] = field(default_factory=list)
    managed_bytes: bytes | None = None  # config.yaml's content under lock.config

    def note(self, message: str, hint: str | None = None) -> None:
        self.notes.append(ConfigIssue(self.config_file, None, None, message, hint, "warning"))

    @property
    def config_is_managed_copy(self) -> bool:
        return self.state.is_locked("config") and self.state.managed_config is not None

    def locked_bridge(self, iam: Any, bridge: Any, fast_path: bool) -> tuple[Any, Any, bool]:
        """``(iam, bridge, fast_path)`` as the lock wants them: from the managed config, else
        the defaults (no sign-in, fast path on), for each of ``lock.iam``/``lock.fast_path``."""
        lock_iam = self.state.is_locked("iam")
        lock_fast = self.state.is_locked("fast_path")
        if not (lock_iam or lock_fast) or self.config_is_managed_copy:
            return iam, bridge, fast_path  # config.yaml is the managed copy already
        managed_iam, managed_fast = _managed_bridge(self.state.managed_config, self.state)
        update: dict[str, Any] = {}
        if lock_iam and _dump(iam) != _dump(managed_iam):
            self.note(
                "bridge.iam in config.yaml is ignored: the sign-in settings are "
                f"{self.state.owner}",
                self.state.hint("iam"),
            )
            iam, update["iam"] = managed_iam, managed_iam
        if lock_fast and fast_path != managed_fast:
            self.note(
                f"bridge.fast_path in config.yaml is ignored: the fast path is {self.state.owner}",
                self.state.hint("fast_path"),
            )
            fast_path, update["fast_path"] = managed_fast, managed_fast
        if update and bridge is not None:
            bridge = bridge.model_copy(update=update)
        return iam, bridge, fast_path


def _dump(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else value


def _managed_bridge(managed: Path | None, state: LockState) -> tuple[Any, bool]:
    """``bridge.iam`` and ``bridge.fast_path`` of the managed config (defaults without one)."""
    if managed is None:
        return None, True
    from tray_agent.config.render import render_effective

    _check_trusted(managed, state)
    try:
        rendered = render_effective(managed)
    except ConfigInvalid as exc:
        raise ConfigInvalid(
            [i for i in exc.issues if i.is_error]
            or [ConfigIssue(str(managed), None, None, "the managed config is invalid")]
        ) from exc
    return rendered.iam, rendered.fast_path


def _unreadable(managed: Path, exc: OSError, state: LockState) -> ConfigInvalid:
    return ConfigInvalid(
        [
            ConfigIssue(
                str(managed),
                None,
                None,
                f"the managed config named by the organization policy cannot be read: "
                f"{exc.strerror or exc}; config.yaml is {state.owner} and is not applied",
                "ask your administrator to ship the managed config beside the policy",
            )
        ]
    )


def _refused(managed: Path, why: str, state: LockState) -> ConfigInvalid:
    return ConfigInvalid(
        [
            ConfigIssue(
                str(managed),
                None,
                None,
                f"the managed config named by the organization policy is refused: {why}; "
                f"config.yaml is {state.owner} and is not applied",
                "ask your administrator to make it writable by administrators only",
            )
        ]
    )


def _check_trusted(managed: Path, state: LockState) -> None:
    """The managed copy must be as admin-only as the policy: else a user edits it instead."""
    from tray_agent.policy.sources import locate, trust_problem

    problem = trust_problem(managed, locate().directory) if managed.exists() else None
    if problem is not None:
        raise _refused(managed, problem.message, state)


def restore_config(config: Path, state: LockState) -> tuple[bool, bytes | None]:
    """Make ``config`` the managed copy: (whether it differed and was replaced, the managed
    copy's bytes -- what must be validated and rendered, never a re-read of ``config``)."""
    managed = state.managed_config
    if managed is None:
        return False, None
    _check_trusted(managed, state)
    try:
        wanted = read_bytes_capped(managed, MANAGED_MAX_BYTES, "the managed config")
    except OSError as exc:
        raise _unreadable(managed, exc, state) from exc
    with file_lock(config):  # the lock every writer of config.yaml takes
        try:
            have: bytes | None = config.read_bytes()
        except FileNotFoundError:
            have = None
        if have == wanted:
            return False, wanted
        try:
            atomic_write(config, wanted, mode=0o600)
        except OSError as exc:
            raise ConfigInvalid(
                [
                    ConfigIssue(
                        str(config),
                        None,
                        None,
                        f"config.yaml differs from the managed copy ({managed}) and cannot "
                        f"be restored: {exc}; the change is not applied",
                    )
                ]
            ) from exc
    return have is not None, wanted


def enforce(paths: Paths, secrets: SecretStore | None = None) -> Enforcement:
    """Apply ``lock.config`` to the files (restore config.yaml) before they are read."""
    found = Enforcement(from_files(paths, secrets), str(paths.config_file))
    state = found.state
    if not state.is_locked("config"):
        return found
    # A missing config.yaml is created from the managed copy without a notice. The managed
    # bytes are what prepare reads from then on: config.yaml is the user's file, and a swap
    # between this restore and a later read of it would otherwise be validated and served.
    restored, found.managed_bytes = restore_config(paths.config_file, state)
    if restored:
        found.note(
            f"{RESTORED} ({', '.join(state.source) or 'organization policy'}): the change "
            f"was not applied and the file was restored from {state.managed_config}",
            state.hint("config"),
        )
    return found


def locked_iam(paths: Paths, secrets: SecretStore | None = None) -> tuple[bool, Any]:
    """(locked, the managed ``bridge.iam``): what a sign-in without an agent must use when
    ``lock.iam`` is on (None when the admin ships no managed config)."""
    state = from_files(paths, secrets)
    if not state.is_locked("iam"):
        return False, None
    iam, _fast_path = _managed_bridge(state.managed_config, state)
    return True, _dump(iam)
