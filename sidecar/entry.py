"""Sidecar entry: ``python -m sidecar`` or the frozen ``litellm-bridge-sidecar`` executable.

Order matters: the offline environment is set and the stdin channel is read before litellm is
imported (imports take seconds; the agent may die meanwhile), and every check a user can act
on happens before that too.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import NoReturn

from sidecar import handoff
from sidecar.channel import CHANNEL
from sidecar.events import EVENTS
from sidecar.inject import InjectSpecError, load_spec
from sidecar.wire import (
    CONFIG_ENV,
    EVENTS_FD_ENV,
    HOST_ENV,
    LISTEN_FD_ENV,
    MASTER_KEY_ENV,
    PORT_ENV,
    WARMUP_ENV,
)

EXIT_USAGE = 2
MIN_MASTER_KEY_LENGTH = 16

# Keys from tutorials and examples: anyone could guess them.
_WELL_KNOWN_KEY_DIGESTS = frozenset(
    hashlib.sha256(key.encode()).hexdigest()
    for key in ("sk-1234", "sk-12345", "sk-123456", "sk-litellm", "sk-master-key", "changeme")
)

OFFLINE_ENV = {
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DISABLE_TELEMETRY": "1",
    "LITELLM_TELEMETRY": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
# Variables that would make the proxy reach for a database or weaken its key check.
_REMOVED_ENV = (
    "DATABASE_URL",
    "DIRECT_URL",
    "LITELLM_DANGEROUSLY_PERMIT_WEAK_OR_UNSET_MASTER_KEY",
    "WORKER_CONFIG",
    # A config from a bucket or a .env file would bypass the agent's checked effective config.
    "LITELLM_CONFIG_BUCKET_NAME",
    "LITELLM_CONFIG_BUCKET_TYPE",
    "LITELLM_CONFIG_BUCKET_OBJECT_KEY",
    "LITELLM_MODE",
    "SSLKEYLOGFILE",  # TLS session keys: would let a file reader decrypt the token on the wire
)


class StartupError(Exception):
    """A problem the agent or user can fix; the sidecar exits with code 2."""


@dataclass(frozen=True)
class Settings:
    config_path: str
    listen_fd: int | None
    host: str
    port: int
    events_fd: int | None
    warmup: bool


def prepare_environment(environ: MutableMapping[str, str]) -> None:
    """Offline, no database, no telemetry: must run before litellm is imported."""
    environ.update(OFFLINE_ENV)
    for name in _REMOVED_ENV:
        environ.pop(name, None)
    # Both spellings get the union of both: lowercase wins where both are set (urllib,
    # httpx), so adding loopback to an empty ``no_proxy`` alone would hide the user's
    # ``NO_PROXY`` hosts.
    hosts: list[str] = []
    for name in ("NO_PROXY", "no_proxy"):
        for host in environ.get(name, "").split(","):
            if host.strip() and host.strip() not in hosts:
                hosts.append(host.strip())
    for local in ("127.0.0.1", "localhost"):
        if local not in hosts:
            hosts.append(local)
    environ["NO_PROXY"] = environ["no_proxy"] = ",".join(hosts)


def _int_env(environ: Mapping[str, str], name: str) -> int | None:
    value = environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise StartupError(f"{name}={value!r} is not an integer") from None


def read_settings(environ: Mapping[str, str]) -> Settings:
    """Validate the environment given by the agent; raises StartupError with what to fix."""
    config_path = environ.get(CONFIG_ENV, "")
    if not config_path:
        raise StartupError(f"{CONFIG_ENV} is not set: it must name the effective config file")
    if not os.path.isfile(config_path):
        raise StartupError(f"config file not found: {config_path} (from {CONFIG_ENV})")
    key = environ.get(MASTER_KEY_ENV, "")
    if not key.strip():
        raise StartupError(f"{MASTER_KEY_ENV} is not set: the proxy needs a master key")
    if hashlib.sha256(key.encode()).hexdigest() in _WELL_KNOWN_KEY_DIGESTS:
        raise StartupError(f"{MASTER_KEY_ENV} is a well-known example key: generate a random one")
    if len(key) < MIN_MASTER_KEY_LENGTH:
        raise StartupError(
            f"{MASTER_KEY_ENV} is too short (at least {MIN_MASTER_KEY_LENGTH} characters)"
        )
    try:
        load_spec(environ)
    except InjectSpecError as exc:
        raise StartupError(str(exc)) from None
    listen_fd = _int_env(environ, LISTEN_FD_ENV)
    port = _int_env(environ, PORT_ENV)
    if listen_fd is None and port is None:
        raise StartupError(f"neither {LISTEN_FD_ENV} nor {PORT_ENV} is set: nowhere to listen")
    return Settings(
        config_path=os.path.abspath(config_path),
        listen_fd=listen_fd,
        host=environ.get(HOST_ENV) or "127.0.0.1",
        port=port or 0,
        events_fd=_int_env(environ, EVENTS_FD_ENV),
        warmup=environ.get(WARMUP_ENV, "on").lower() not in ("0", "off", "false", "no"),
    )


def _set_parent_death_signal() -> None:
    """Linux: have the kernel send SIGKILL when the agent dies (a second guard besides stdin)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def fail(message: str) -> int:
    print(f"litellm-bridge-sidecar: cannot start: {message}", file=sys.stderr, flush=True)
    return EXIT_USAGE


def _exit(code: int) -> NoReturn:
    """Leave without interpreter shutdown.

    The stdin reader is a daemon thread blocked in a read (interpreter shutdown would abort
    on its buffer lock), and LiteLLM leaves worker threads that would hold exit up.
    """
    EVENTS.flush()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def main() -> int:
    """Run the sidecar until drained, signalled, or orphaned; never returns."""
    prepare_environment(os.environ)
    try:
        EVENTS.open(handoff.events_fd(_int_env(os.environ, EVENTS_FD_ENV)))
    except (StartupError, OSError) as exc:
        _exit(fail(str(exc)))
    CHANNEL.start()
    _set_parent_death_signal()
    try:
        settings = read_settings(os.environ)
    except StartupError as exc:
        _exit(fail(str(exc)))
    os.environ["CONFIG_FILE_PATH"] = settings.config_path

    from sidecar.runner import run

    _exit(run(settings))
