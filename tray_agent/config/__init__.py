"""config.yaml: templates, validation with FILE:LINE:COL, effective-config rendering.

The agent core calls ``validate_file`` on every change, then ``render_effective`` and
``write_effective`` to produce what the sidecar loads.
"""

from tray_agent.config.issues import ConfigInvalid, ConfigIssue
from tray_agent.config.render import Rendered, injection_for, render_effective, write_effective
from tray_agent.config.templates import Template, TemplateError, list_templates, resolve_template
from tray_agent.config.validate import load_config, validate_file, validate_text

__all__ = [
    "ConfigInvalid",
    "ConfigIssue",
    "Rendered",
    "Template",
    "TemplateError",
    "injection_for",
    "list_templates",
    "load_config",
    "render_effective",
    "resolve_template",
    "validate_file",
    "validate_text",
    "write_effective",
]
