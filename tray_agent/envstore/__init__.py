"""Env entries for the sidecar: names and flags in a file, secret values in the keyring."""

from tray_agent.envstore.dotenv import DotenvEntry, DotenvResult, Skipped, format_line, parse_dotenv
from tray_agent.envstore.names import looks_secret, name_problem
from tray_agent.envstore.store import EnvEntry, EnvStore, EnvStoreError, NewValue, secret_key

__all__ = [
    "DotenvEntry",
    "DotenvResult",
    "EnvEntry",
    "EnvStore",
    "EnvStoreError",
    "NewValue",
    "Skipped",
    "format_line",
    "looks_secret",
    "name_problem",
    "parse_dotenv",
    "secret_key",
]
