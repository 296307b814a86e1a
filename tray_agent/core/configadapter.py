"""Adapter from the config and env packages to the core's ``Prepared`` bundle."""

from __future__ import annotations

from dataclasses import dataclass

from tray_agent.config.issues import ConfigInvalid as ConfigFileInvalid
from tray_agent.config.issues import ConfigIssue
from tray_agent.config.render import render_effective
from tray_agent.config.validate import validate_file
from tray_agent.core.configsource import ConfigInvalid, Issue, Prepared
from tray_agent.envstore.names import name_problem
from tray_agent.envstore.store import EnvStore, EnvStoreError
from tray_agent.envstore.values import MAX_TOTAL_BYTES, entry_bytes, value_problem
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore
from tray_agent.supervisor.sidecar import FAST_PATH_ENV


def _issue(i: ConfigIssue) -> Issue:
    return Issue(i.file, i.line, i.column, i.message, i.hint)


def _referenced_bad(i: ConfigIssue, bad: dict[str, str], secret_names: set[str]) -> Issue:
    """A reference to an entry that was left out: say why, at the reference, and the fix."""
    name = next((n for n in bad if i.message.startswith(f"no env entry {n} ")), None)
    if name is None:
        return _issue(i)
    flag = " --secret" if name in secret_names else ""
    return Issue(
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


def _bad_entry_issue(file: str, name: str, problem: str, secret: bool) -> Issue:
    flag = " --secret" if secret else ""
    return Issue(
        file,
        None,
        None,
        f"env entry {name} was left out of the sidecar's environment: {problem}",
        f"set it again: litellm-bridge env set {name}{flag} (or remove it: "
        f"litellm-bridge env unset {name})",
    )


def _too_big(file: str, values: dict[str, str]) -> Issue | None:
    total = sum(entry_bytes(k, v) for k, v in values.items())
    if total <= MAX_TOTAL_BYTES:
        return None
    return Issue(
        file,
        None,
        None,
        f"the enabled env entries take {total} bytes, more than a process environment can "
        f"safely hold ({MAX_TOTAL_BYTES} bytes)",
        "disable or remove entries the config does not need: litellm-bridge env disable NAME",
    )


def prepare_from_files(paths: Paths, secrets: SecretStore) -> Prepared:
    store = EnvStore(paths.env_file, secrets)
    env_file = str(paths.env_file)
    try:
        read = _read_env(store)
    except EnvStoreError as exc:
        raise ConfigInvalid([Issue(env_file, 1, 1, str(exc))]) from exc
    warnings = [
        _bad_entry_issue(env_file, name, problem, name in read.secret_names)
        for name, problem in read.bad.items()
    ]
    issues = [
        _referenced_bad(i, read.bad, read.secret_names)
        for i in validate_file(paths.config_file, read.enabled, read.disabled)
        if i.is_error
    ]
    if issues:
        raise ConfigInvalid(issues)
    try:
        rendered = render_effective(paths.config_file)
    except ConfigFileInvalid as exc:
        raise ConfigInvalid([_issue(i) for i in exc.issues if i.is_error]) from exc
    missing = read.missing
    if missing:
        raise ConfigInvalid(
            [
                Issue(
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
    if not rendered.fast_path:  # part of the digest: switching it is applied like any edit
        env[FAST_PATH_ENV] = "off"
    return Prepared(
        effective_yaml=rendered.text,
        inject=rendered.inject,
        port=rendered.port,
        env=env,
        model_names=rendered.model_names,
        iam=rendered.iam,
        bridge=rendered.bridge,
        notify_before=float(rendered.notify_before),
        secret_values=secret_values,
        warnings=warnings,
    )
