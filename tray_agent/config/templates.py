"""Official config templates (``config_templates/*.yaml``) and turning one into config.yaml."""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from tray_agent.testhooks import hook_env

TEMPLATES_ENV = "LITELLM_BRIDGE_TEMPLATES"
DESCRIPTION_PREFIX = "# description:"


class TemplateError(Exception):
    """A template that cannot be found or used; the message says what to do."""


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    description: str

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def template_dirs() -> list[Path]:
    """Where official templates are looked for, first match wins."""
    dirs: list[Path] = []
    override = hook_env(TEMPLATES_ENV)  # a test hook: a frozen build ignores it
    if override:
        dirs.append(Path(override))
    bundle = getattr(sys, "_MEIPASS", None)  # frozen build
    if bundle:
        dirs.append(Path(bundle) / "config_templates")
    dirs.append(Path(__file__).resolve().parents[2] / "config_templates")  # source checkout
    dirs.append(Path(sys.prefix) / "share" / "litellm-bridge" / "config_templates")
    return dirs


def describe(path: Path) -> str:
    """The ``# description:`` line of a template, or an empty string."""
    try:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(DESCRIPTION_PREFIX):
                    return line[len(DESCRIPTION_PREFIX) :].strip()
                if line.strip() and not line.startswith("#"):
                    break
    except (OSError, UnicodeDecodeError):
        pass
    return ""


def list_templates() -> list[Template]:
    """Every official template, sorted by name."""
    found: dict[str, Template] = {}
    for d in template_dirs():
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.yaml")):
            found.setdefault(path.stem, Template(path.stem, path, describe(path)))
    return sorted(found.values(), key=lambda t: t.name)


def resolve_template(name_or_path: str) -> Template:
    """A template by official name, or a YAML file given by path."""
    known = {t.name: t for t in list_templates()}
    if name_or_path in known:
        return known[name_or_path]
    candidate = Path(name_or_path).expanduser()
    looks_like_path = candidate.suffix in (".yaml", ".yml") or os.sep in name_or_path
    if looks_like_path or "/" in name_or_path:
        if candidate.is_file():
            return Template(candidate.stem, candidate, describe(candidate))
        raise TemplateError(f"template file not found: {candidate}")
    names = ", ".join(known) or "(none installed)"
    raise TemplateError(f"unknown template '{name_or_path}'; known templates: {names}")


def _yaml() -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def instantiate(text: str, port: int | None = None) -> str:
    """The template's text with ``bridge.port`` set; comments and layout kept."""
    if port is None:
        return text
    rt = _yaml()
    data = rt.load(text)
    if not isinstance(data, CommentedMap):
        raise TemplateError("the template is not a YAML mapping")
    bridge = data.get("bridge")
    if not isinstance(bridge, CommentedMap):
        bridge = CommentedMap()
        data["bridge"] = bridge
    if "port" in bridge:
        bridge["port"] = port
    else:
        bridge.insert(0, "port", port)
    buf = io.StringIO()
    rt.dump(data, buf)
    return buf.getvalue()
