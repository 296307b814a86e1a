"""Where the organization policy comes from, and which of its sources can be trusted.

Sources, merged in this order (``merge.py``): ``<dir>/policy.json``, then
``<dir>/policy.d/*.json`` in name order, then (Windows) the registry value
``HKLM\\SOFTWARE\\Policies\\LiteLLMBridge`` ``Policy``. ``<dir>`` is the machine directory
(``/etc/litellm-bridge``, ``%ProgramFiles%\\LiteLLM Bridge``: ``tray_agent.platform``).

``LITELLM_BRIDGE_POLICY_DIR=DIR`` replaces the machine directory for tests and portable
installs, but only while no machine policy exists: a user who sets it cannot escape a real
policy. The machine directory itself moves only through the test hook
``LITELLM_BRIDGE_MACHINE_POLICY_DIR`` (ignored by frozen builds).

A source is refused (never read into the policy) when a non-admin could change it: the file,
its directory or any parent up to the root (``platform.machine_policy`` says who may write),
a symlink pointing outside the policy directory, anything but a regular file, a file over
``MAX_POLICY_BYTES``, and, when the package carries a policy key, a missing or bad signature.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tray_agent.fsutil import FileRefused, read_bytes_capped
from tray_agent.platform.machine_policy import machine_policy
from tray_agent.policy.problems import PolicyProblem, Reason
from tray_agent.policy.signature import SIGNATURE_SUFFIX, check_signature
from tray_agent.testhooks import hook_env

POLICY_DIR_ENV = "LITELLM_BRIDGE_POLICY_DIR"
MACHINE_DIR_HOOK = "LITELLM_BRIDGE_MACHINE_POLICY_DIR"
POLICY_FILE = "policy.json"
DROPIN_DIR = "policy.d"
MAX_POLICY_BYTES = 1 << 20
MAX_SIGNATURE_BYTES = 4096

Kind = Literal["file", "drop-in", "registry"]


def machine_dir() -> Path:
    """The machine policy directory (moved only by the frozen-build-off test hook)."""
    hooked = hook_env(MACHINE_DIR_HOOK)
    return Path(hooked) if hooked else machine_policy.machine_dir()


class _Unlisted(Exception):
    """A policy location exists but cannot be looked into (e.g. a directory not searchable)."""

    def __init__(self, path: Path, exc: OSError) -> None:
        super().__init__(str(path))
        self.problem = PolicyProblem(
            "unreadable",
            str(path),
            f"cannot be looked into: {exc.strerror or exc}; a policy there may exist, so "
            "nothing the policy could lock is unlocked",
        )


def _present(path: Path) -> bool:
    """Whether ``path`` exists; a path that cannot be checked (permission) raises ``_Unlisted``.

    ``os.path.lexists`` answers False for both, which would turn an unreadable policy
    directory into "no policy": fail closed instead.
    """
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise _Unlisted(path, exc) from None
    return True


def _dropins(directory: Path) -> list[Path]:
    try:
        names = os.listdir(directory / DROPIN_DIR)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise _Unlisted(directory / DROPIN_DIR, exc) from None
    return [
        directory / DROPIN_DIR / n
        for n in sorted(names)
        if n.endswith(".json") and not n.startswith(".")
    ]


def _registry_used() -> bool:
    return hook_env(MACHINE_DIR_HOOK) is None and machine_policy.registry_name() is not None


def machine_policy_exists() -> bool:
    """A policy file, a drop-in or a registry value at machine scope (valid or not)."""
    directory = machine_dir()
    try:
        if _present(directory / POLICY_FILE) or _dropins(directory):
            return True
    except _Unlisted:
        return True
    return _registry_used() and machine_policy.registry_values()[0] is not None


@dataclass(frozen=True)
class Location:
    directory: Path
    machine: bool  # the machine directory (else LITELLM_BRIDGE_POLICY_DIR)
    env_ignored: bool  # LITELLM_BRIDGE_POLICY_DIR is set but a machine policy exists


def locate(environ: Mapping[str, str] | None = None) -> Location:
    env = os.environ if environ is None else environ
    override = env.get(POLICY_DIR_ENV)
    if override and not machine_policy_exists():
        return Location(Path(override).expanduser().absolute(), machine=False, env_ignored=False)
    return Location(machine_dir(), machine=True, env_ignored=bool(override))


@dataclass(frozen=True)
class Source:
    kind: Kind
    name: str  # the path, or the registry value's name
    data: bytes


@dataclass
class Discovery:
    location: Location
    names: list[str] = field(default_factory=list)  # every source present, in merge order
    sources: list[Source] = field(default_factory=list)  # the ones read and trusted
    problems: list[PolicyProblem] = field(default_factory=list)


def _writable_problem(path: Path, what: str, parent: bool) -> PolicyProblem | None:
    try:
        why = (
            machine_policy.parent_unsafe(path)
            if parent
            else machine_policy.non_admin_writable(path)
        )
    except OSError as exc:
        return PolicyProblem("unreadable", str(path), f"cannot check who may write it: {exc}")
    if why is None:
        return None
    if parent:
        return PolicyProblem(
            "parent_writable", what, f"its directory {path} {why}: a non-admin could replace it"
        )
    reason: Reason = "not_admin_owned" if why.startswith("is owned") else "writable"
    return PolicyProblem(reason, what, f"{why}: a non-admin could change it")


def trust_problem(path: Path, directory: Path) -> PolicyProblem | None:
    """Why ``path`` (inside the policy ``directory``) cannot be trusted, or None."""
    name = str(path)
    target = path
    if path.is_symlink():
        target = path.resolve()
        root = directory.resolve()
        if target != root and root not in target.parents:
            return PolicyProblem(
                "symlink", name, f"is a symbolic link to {target}, outside {directory}"
            )
    problem = _writable_problem(target, name, parent=False)
    if problem:
        return problem
    here = target.parent.resolve()
    for parent in (here, *here.parents):
        problem = _writable_problem(parent, name, parent=True)
        if problem:
            return problem
    return None


def _read(path: Path, what: str) -> bytes:
    try:
        return read_bytes_capped(path, MAX_POLICY_BYTES, what)
    except FileRefused as exc:
        reason: Reason = "too_large" if "limit" in str(exc.strerror) else "not_regular"
        raise PolicyProblem(reason, str(path), str(exc.strerror)) from None
    except OSError as exc:
        raise PolicyProblem(
            "unreadable", str(path), f"cannot be read: {exc.strerror or exc}"
        ) from None


def _signature_of(path: Path) -> str | None:
    sig = Path(str(path) + SIGNATURE_SUFFIX)
    try:
        return read_bytes_capped(sig, MAX_SIGNATURE_BYTES, "policy signature").decode("ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return ""  # present but unusable: reported as an invalid signature


def discover(
    environ: Mapping[str, str] | None = None, key: Ed25519PublicKey | None = None
) -> Discovery:
    """Every policy source present, read and checked (problems collected, none raised)."""
    loc = locate(environ)
    found = Discovery(loc)
    files: list[tuple[Kind, Path]] = []
    try:
        if _present(loc.directory / POLICY_FILE):
            files.append(("file", loc.directory / POLICY_FILE))
        files.extend(("drop-in", p) for p in _dropins(loc.directory))
    except _Unlisted as exc:
        found.names.append(exc.problem.source)
        found.problems.append(exc.problem)
    dropin_dir = loc.directory / DROPIN_DIR
    if files and dropin_dir.is_dir():
        problem = _writable_problem(dropin_dir, str(dropin_dir), parent=True)
        if problem:
            found.problems.append(problem)
    for kind, path in files:
        found.names.append(str(path))
        try:
            problem = trust_problem(path, loc.directory)
            if problem:
                raise problem
            data = _read(path, "policy file")
            if key is not None:
                check_signature(key, data, _signature_of(path), str(path))
        except PolicyProblem as exc:
            found.problems.append(exc)
            continue
        found.sources.append(Source(kind, str(path), data))
    if loc.machine and _registry_used():
        text, signature = machine_policy.registry_values()
        name = machine_policy.registry_name() or "registry"
        if text is not None:
            found.names.append(name)
            data = text.encode("utf-8")
            try:
                if len(data) > MAX_POLICY_BYTES:
                    raise PolicyProblem("too_large", name, "is larger than the policy size limit")
                if key is not None:
                    check_signature(key, data, signature, name)
                found.sources.append(Source("registry", name, data))
            except PolicyProblem as exc:
                found.problems.append(exc)
    return found
