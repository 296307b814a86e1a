"""The effective policy: sources read, checked, merged and validated; else the last good one.

Any problem with any source (refused or invalid) means none of the sources is applied --
applying the rest could drop a drop-in that tightened something. Then the last good policy
(``store.py``) stays in force; with none, ``LOCKED_DOWN``. No source at all means no policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from tray_agent.policy.merge import merge
from tray_agent.policy.parse import parse_policy_bytes
from tray_agent.policy.problems import PolicyProblem
from tray_agent.policy.schema import LOCKED_DOWN, Policy
from tray_agent.policy.signature import policy_public_key
from tray_agent.policy.sources import Discovery, Location, discover, locate, machine_dir
from tray_agent.policy.store import LastGoodStore

State = Literal["none", "policy", "last_good", "locked_down"]
INVALID = "organization policy invalid"


@dataclass(frozen=True)
class Effective:
    policy: Policy
    state: State
    location: Location
    sources: list[str] = field(default_factory=list)  # every source present
    origins: dict[str, str] = field(default_factory=dict)  # leaf key -> source in force
    problems: list[PolicyProblem] = field(default_factory=list)
    signed: bool = False  # the package requires signatures

    @property
    def valid(self) -> bool:
        return self.state in ("none", "policy")

    @property
    def refused(self) -> PolicyProblem | None:
        return next((p for p in self.problems if p.refusal), None)

    @property
    def error(self) -> PolicyProblem | None:
        return next((p for p in self.problems if not p.refusal), None)

    def enforced(self) -> dict[str, Any] | None:
        return None if self.state == "none" else self.policy.enforced()

    def document(self) -> dict[str, Any]:
        return self.policy.model_dump(mode="json")


def _schema_problem(
    exc: ValidationError, origins: dict[str, str], sources: list[str]
) -> PolicyProblem:
    parts: list[str] = []
    where: str | None = None
    for err in exc.errors()[:5]:
        loc = ".".join(str(x) for x in err["loc"])
        parts.append(f"{loc}: {err['msg']}")
        if where is None:
            where = next((origins[k] for k in (loc, *_prefixes(loc)) if k in origins), None)
    return PolicyProblem("schema", where or ", ".join(sources), "; ".join(parts))


def _prefixes(loc: str) -> list[str]:
    parts = loc.split(".")
    return [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


def validate(found: Discovery) -> tuple[Policy | None, dict[str, Any], dict[str, str]]:
    """The merged, validated policy (None after a problem, which ``found`` then lists)."""
    docs: list[tuple[str, dict[str, Any]]] = []
    for src in found.sources:
        try:
            docs.append((src.name, parse_policy_bytes(src.data, src.name)))
        except PolicyProblem as exc:
            found.problems.append(exc)
    merged, origins = merge(docs)
    if found.problems:
        return None, merged, origins
    try:
        return Policy.model_validate(merged), merged, origins
    except ValidationError as exc:
        found.problems.append(_schema_problem(exc, origins, found.names))
        return None, merged, origins


def evaluate(
    environ: Mapping[str, str] | None = None,
    store: LastGoodStore | None = None,
    save: bool = True,
) -> Effective:
    """Read every source now and decide what is in force (``save``: keep a valid one as
    the last good policy)."""
    key = policy_public_key()
    found = discover(environ, key)
    signed = key is not None
    if not found.names:
        return Effective(Policy(), "none", found.location, signed=signed)
    policy, merged, origins = validate(found)
    if policy is not None:
        if store is not None and save:
            store.save(merged, found.names, origins)
        return Effective(policy, "policy", found.location, found.names, origins, signed=signed)
    last = store.load() if store is not None else None
    if last is not None:
        try:
            kept = Policy.model_validate(last.document)
        except ValidationError:
            kept = None
        if kept is not None:
            return Effective(
                kept, "last_good", found.location, found.names, last.origins, found.problems, signed
            )
    return Effective(
        LOCKED_DOWN, "locked_down", found.location, found.names, {}, found.problems, signed
    )


def unevaluable(exc: BaseException) -> Effective:
    """What is in force when the policy could not be evaluated at all: everything locked,
    no model served -- not "no policy" (which would unlock everything)."""
    try:
        location = locate()
    except Exception:
        location = Location(machine_dir(), machine=True, env_ignored=False)
    problem = PolicyProblem(
        "unreadable", str(location.directory), f"cannot be evaluated ({type(exc).__name__})"
    )
    return Effective(LOCKED_DOWN, "locked_down", location, [], {}, [problem])


def store_for(data_dir: Path, mac_key: bytes | None) -> LastGoodStore:
    from tray_agent.policy.store import RECORD_FILE

    return LastGoodStore(data_dir / RECORD_FILE, mac_key)
