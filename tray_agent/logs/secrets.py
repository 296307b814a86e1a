"""Register every secret this installation knows with the redactor (CLI-side processes).

The agent registers secrets as it meets them; a command that writes output from files and
the keyring (doctor, diagnostics) calls :func:`register_known_secrets` first.
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Mapping

from tray_agent.logs.redact import REDACTOR
from tray_agent.paths import Paths
from tray_agent.secrets import SecretStore

STORED = ("master-key", "token", "refresh-token", "iam-password")
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def register_proxy_credentials(environ: Mapping[str, str] | None = None) -> None:
    """Passwords embedded in proxy URLs (``http://user:pass@proxy:3128``)."""
    env = os.environ if environ is None else environ
    for name in PROXY_VARS:
        value = env.get(name)
        if value:
            with contextlib.suppress(ValueError):
                REDACTOR.add(urllib.parse.urlsplit(value).password)


def register_known_secrets(paths: Paths, secrets: SecretStore | None) -> None:
    """Secret values from the keyring (stored names and secret env entries)."""
    register_proxy_credentials()
    if secrets is None:
        return
    try:
        for name in STORED:
            REDACTOR.add(secrets.get(name))
        from tray_agent.envstore import EnvStore, secret_key

        for entry in EnvStore(paths.env_file, secrets).entries():
            if entry.secret:
                REDACTOR.add(secrets.get(secret_key(entry.name)))
    except Exception:  # a locked or broken keyring: the patterns still apply
        return
