"""Where updates come from and how eagerly: ``update.url`` and ``update.mode``.

The organization policy's ``update`` section wins key by key over the user's config
(``bridge.update`` in config.yaml); only the policy can pin a version (``update.version``),
which is also the only way to allow a downgrade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

if TYPE_CHECKING:
    from tray_agent.paths import Paths

Mode = Literal["default", "manual", "off"]


class UpdateSourceError(Exception):
    """The update settings cannot be read; the message names the file."""


@dataclass(frozen=True)
class Source:
    url: str | None = None
    mode: Mode = "default"
    pin: str | None = None
    origin: dict[str, str] = field(default_factory=dict)
    """Per key (url, mode, version): ``policy``, ``config`` or ``default``."""

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "mode": self.mode, "version": self.pin, "origin": self.origin}


def _config_update(paths: Paths) -> dict[str, Any]:
    from tray_agent.config import yamlload
    from tray_agent.policy.schema import Update

    if not paths.config_file.exists():
        return {}
    try:
        doc = yamlload.load_file(paths.config_file)
    except Exception as exc:
        raise UpdateSourceError(f"{paths.config_file}: {exc}") from None
    bridge = doc.get("bridge") if isinstance(doc, dict) else None
    raw = bridge.get("update") if isinstance(bridge, dict) else None
    if raw is None:
        return {}
    if isinstance(raw, dict) and "version" in raw:
        raise UpdateSourceError(
            f"{paths.config_file}: bridge.update.version: only the organization policy can pin "
            "a version"
        )
    try:
        section = Update.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UpdateSourceError(
            f"{paths.config_file}: bridge.update.{where}: {first['msg']}"
        ) from None
    return section.model_dump(include=section.model_fields_set)


def resolve(paths: Paths) -> Source:
    """The update source in force: policy keys, then config keys, then defaults."""
    from tray_agent.policy.current import evaluate_for

    policy = evaluate_for(paths).policy.update
    from_policy = policy.model_dump(include=policy.model_fields_set, exclude_none=True)
    from_config = _config_update(paths)
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key in ("url", "mode", "version"):
        if key in from_policy:
            values[key], origin[key] = from_policy[key], "policy"
        elif key in from_config and from_config[key] is not None:
            values[key], origin[key] = from_config[key], "config"
        else:
            origin[key] = "default"
    return Source(
        url=values.get("url"),
        mode=values.get("mode", "default"),
        pin=values.get("version"),
        origin=origin,
    )
