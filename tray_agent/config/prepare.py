"""config.yaml + env entries -> what a sidecar is started with (the ``Prepared`` bundle).

The one step between the files a user edits and a sidecar: validation against the env store,
rendering of the effective config, the sidecar's environment, and the digests that tell the
lifecycle whether an edit needs a new sidecar.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tray_agent.config.issues import ConfigInvalid, ConfigIssue
from tray_agent.config.render import render_effective
from tray_agent.config.validate import read_text, validate_file
from tray_agent.envstore.names import name_problem
from tray_agent.envstore.store import EnvStore, EnvStoreError
from tray_agent.envstore.values import MAX_TOTAL_BYTES, entry_bytes, value_problem
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore
from tray_agent.wire import FAST_PATH_ENV

if TYPE_CHECKING:
    from tray_agent.policy.managed import Enforcement


@dataclass
class Prepared:
    effective_yaml: str
    inject: dict[str, Any]
    port: int
    env: dict[str, str]
    model_names: list[str] = field(default_factory=list)
    iam: Any = None
    notify_before: float = 300.0
    secret_values: list[str] = field(default_factory=list)
    # Problems that did not stop the config from being applied (e.g. a stored env entry
    # that cannot be passed to a process and was left out); shown in status.
    warnings: list[ConfigIssue] = field(default_factory=list)
    # The validated ``bridge:`` section (config.schema.BridgeSection), None in unit tests.
    bridge: Any = None

    def _bridge_data(self) -> dict[str, Any]:
        if self.bridge is None:
            return {"iam": _dump(self.iam), "notify_before": self.notify_before}
        data: dict[str, Any] = self.bridge.model_dump(mode="json")
        return data

    @property
    def sidecar_limits(self) -> dict[str, Any]:
        """``bridge.sidecar`` (start limits): part of what a sidecar is started with."""
        return dict(self._bridge_data().get("sidecar") or {})

    @property
    def apply_digest(self) -> str:
        """Everything a sidecar is started with: a change needs a new sidecar (a swap)."""
        blob = json.dumps(
            [
                self.effective_yaml,
                self.inject,
                self.port,
                sorted(self.env.items()),
                self.sidecar_limits,
            ],
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    @property
    def digest(self) -> str:
        """The whole config, ``bridge:`` included: a change is announced as config_changed."""
        blob = json.dumps([self.apply_digest, self._bridge_data()], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


def _dump(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else value


def _referenced_bad(i: ConfigIssue, bad: dict[str, str], secret_names: set[str]) -> ConfigIssue:
    """A reference to an entry that was left out: say why, at the reference, and the fix."""
    name = next((n for n in bad if i.message.startswith(f"no env entry {n} ")), None)
    if name is None:
        return i
    flag = " --secret" if name in secret_names else ""
    return ConfigIssue(
        i.file,
        i.line,
        i.column,
        f"env entry {name} (referenced here) cannot be given to the sidecar: {bad[name]}",
        f"set it again: litellm-bridge env set {name}{flag}",
    )


@dataclass
class _Env:
    """The env store read once: what the sidecar gets, and what had to be left out."""

    values: dict[str, str]
    enabled: set[str]
    disabled: set[str]
    missing: list[str]
    bad: dict[str, str]  # name -> why no process can be given it
    secret_names: set[str]
    secret_values: list[str]


def _read_env(store: EnvStore) -> _Env:
    entries = store.entries()
    disabled = {e.name for e in entries if not e.enabled}
    env = _Env({}, set(), disabled, [], {}, {e.name for e in entries if e.secret}, [])
    for entry in entries:
        if not entry.enabled:
            continue
        value = store.value(entry)
        if value is None:
            if entry.secret:
                env.missing.append(entry.name)
            continue
        if entry.secret:
            env.secret_values.append(value)  # redacted from logs even when left out
        # A stored entry from an old or hand-edited file, or a keyring value, is checked
        # here too: Popen refuses the whole environment for one bad value.
        problem = name_problem(entry.name) or value_problem(entry.name, value)
        if problem:
            env.bad[entry.name] = problem
            continue
        env.values[entry.name] = value
        env.enabled.add(entry.name)
    return env


def _apply_preset(env: _Env, preset: Mapping[str, str], enf: Enforcement) -> None:
    """The policy's ``env`` values replace the user's entries (a hand edit cannot win)."""
    for name, value in preset.items():
        have = env.values.get(name)
        if (have is not None and have != value) or name in env.disabled or name in env.bad:
            enf.note(
                f"env entry {name} is {enf.state.owner}: the policy's value is used, not "
                "the one in the env file",
                enf.state.hint(f"env:{name}"),
            )
        env.values[name] = value
        env.enabled.add(name)
        env.disabled.discard(name)
        env.bad.pop(name, None)
        if name in env.missing:
            env.missing.remove(name)
        env.secret_names.discard(name)


def _bad_entry_issue(file: str, name: str, problem: str, secret: bool) -> ConfigIssue:
    flag = " --secret" if secret else ""
    return ConfigIssue(
        file,
        None,
        None,
        f"env entry {name} was left out of the sidecar's environment: {problem}",
        f"set it again: litellm-bridge env set {name}{flag} (or remove it: "
        f"litellm-bridge env unset {name})",
    )


def _too_big(file: str, values: dict[str, str]) -> ConfigIssue | None:
    total = sum(entry_bytes(k, v) for k, v in values.items())
    if total <= MAX_TOTAL_BYTES:
        return None
    return ConfigIssue(
        file,
        None,
        None,
        f"the enabled env entries take {total} bytes, more than a process environment can "
        f"safely hold ({MAX_TOTAL_BYTES} bytes)",
        "disable or remove entries the config does not need: litellm-bridge env disable NAME",
    )


def _config_text(paths: Paths, managed: Enforcement) -> str:
    """config.yaml's content, read once: validation and rendering see the same bytes (a
    file swapped between two reads cannot get one version checked and another served).
    Under ``lock.config`` it is the admin's managed copy itself."""
    if managed.managed_bytes is not None:
        try:
            return managed.managed_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigInvalid(
                [ConfigIssue(str(paths.config_file), None, None, f"not UTF-8: {exc}")]
            ) from exc
    text, issue = read_text(paths.config_file)
    if issue is not None or text is None:
        raise ConfigInvalid([issue] if issue else [])
    return text


def prepare(paths: Paths, secrets: SecretStore) -> Prepared:
    """Validate config.yaml against the env store and render the effective config.

    Raises ConfigInvalid with located issues; never returns a half-valid result. The
    organization's admin lock goes first: a managed config.yaml is restored from its
    managed copy before it is read, and locked ``bridge:`` keys come from the managed config.
    """
    from tray_agent.policy.managed import enforce

    managed = enforce(paths, secrets)
    store = EnvStore(paths.env_file, secrets)
    env_file = str(paths.env_file)
    try:
        read = _read_env(store)
    except EnvStoreError as exc:
        raise ConfigInvalid([ConfigIssue(env_file, 1, 1, str(exc))]) from exc
    _apply_preset(read, managed.state.env_values, managed)
    warnings = [
        _bad_entry_issue(env_file, name, problem, name in read.secret_names)
        for name, problem in read.bad.items()
    ]
    text = _config_text(paths, managed)
    # Under lock.config the managed copy is what is read, and its includes resolve beside
    # it (admin-owned), not beside the user's config.yaml.
    source = managed.state.managed_config if managed.managed_bytes is not None else None
    source = source or paths.config_file
    issues = [
        _referenced_bad(i, read.bad, read.secret_names)
        for i in validate_file(source, read.enabled, read.disabled, text)
        if i.is_error
    ]
    if issues:
        raise ConfigInvalid(issues)
    try:
        rendered = render_effective(source, text=text)
    except ConfigInvalid as exc:
        raise ConfigInvalid([i for i in exc.issues if i.is_error]) from exc
    missing = read.missing
    if missing:
        raise ConfigInvalid(
            [
                ConfigIssue(
                    str(paths.env_file),
                    None,
                    None,
                    f"secret env entry {name} has no value in the keyring",
                    f"set it again, typed or piped: litellm-bridge env set {name} --secret",
                )
                for name in missing
            ]
        )
    too_big = _too_big(env_file, read.values)
    if too_big:
        raise ConfigInvalid([too_big])
    env = read.values
    secret_values = read.secret_values
    iam, bridge, fast_path = managed.locked_bridge(
        rendered.iam, rendered.bridge, rendered.fast_path
    )
    if not fast_path:  # part of the digest: switching it is applied like any edit
        env[FAST_PATH_ENV] = "off"
    elif managed.state.is_locked("fast_path"):
        env[FAST_PATH_ENV] = "on"  # not even the agent's own environment switches it off
    return Prepared(
        effective_yaml=rendered.text,
        inject=rendered.inject,
        port=rendered.port,
        env=env,
        model_names=rendered.model_names,
        iam=iam,
        bridge=bridge,
        notify_before=float(rendered.notify_before),
        secret_values=secret_values,
        warnings=[*warnings, *managed.notes],
    )
