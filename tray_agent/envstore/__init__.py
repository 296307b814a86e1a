"""Env entries for the sidecar: names and flags in a file, secret values in the keyring."""

from tray_agent.envstore.dotenv import DotenvEntry, DotenvResult, Skipped, format_line, parse_dotenv
from tray_agent.envstore.names import looks_secret, name_problem
from tray_agent.envstore.store import EnvEntry, EnvStore, EnvStoreError, NewValue, secret_key
from tray_agent.envstore.values import MAX_ENTRY_BYTES, MAX_TOTAL_BYTES, entry_bytes, value_problem

__all__ = [
    "MAX_ENTRY_BYTES",
    "MAX_TOTAL_BYTES",
    "DotenvEntry",
    "DotenvResult",
    "EnvEntry",
    "EnvStore",
    "EnvStoreError",
    "NewValue",
    "Skipped",
    "entry_bytes",
    "format_line",
    "looks_secret",
    "name_problem",
    "parse_dotenv",
    "secret_key",
    "value_problem",
]
