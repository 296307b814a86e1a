"""Adapter from the config and env packages to the core's ``Prepared`` bundle."""

from __future__ import annotations

from tray_agent.config.issues import ConfigInvalid as ConfigFileInvalid
from tray_agent.config.issues import ConfigIssue
from tray_agent.config.render import render_effective
from tray_agent.config.validate import validate_file
from tray_agent.core.configsource import ConfigInvalid, Issue, Prepared
from tray_agent.envstore.store import EnvStore, EnvStoreError
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore
from tray_agent.supervisor.sidecar import FAST_PATH_ENV


def _issue(i: ConfigIssue) -> Issue:
    return Issue(i.file, i.line, i.column, i.message, i.hint)


def prepare_from_files(paths: Paths, secrets: SecretStore) -> Prepared:
    store = EnvStore(paths.env_file, secrets)
    try:
        enabled, disabled = store.enabled_names(), store.disabled_names()
    except EnvStoreError as exc:
        raise ConfigInvalid([Issue(str(paths.env_file), 1, 1, str(exc))]) from exc
    issues = [i for i in validate_file(paths.config_file, enabled, disabled) if i.is_error]
    if issues:
        raise ConfigInvalid([_issue(i) for i in issues])
    try:
        rendered = render_effective(paths.config_file)
    except ConfigFileInvalid as exc:
        raise ConfigInvalid([_issue(i) for i in exc.issues if i.is_error]) from exc
    missing = store.missing_secrets()
    if missing:
        raise ConfigInvalid(
            [
                Issue(
                    str(paths.env_file),
                    None,
                    None,
                    f"secret env entry {name} has no value in the keyring",
                    f"set it again: litellm-bridge env set {name} VALUE --secret",
                )
                for name in missing
            ]
        )
    env = store.resolved()
    secret_values = [env[e.name] for e in store.entries() if e.secret and e.name in env]
    if not rendered.fast_path:  # part of the digest: switching it is applied like any edit
        env[FAST_PATH_ENV] = "off"
    return Prepared(
        effective_yaml=rendered.text,
        inject=rendered.inject,
        port=rendered.port,
        env=env,
        model_names=rendered.model_names,
        iam=rendered.iam,
        notify_before=float(rendered.notify_before),
        secret_values=secret_values,
    )
