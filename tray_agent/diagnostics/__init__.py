"""Diagnostics export: one zip a user can send to support, with every secret redacted."""

from tray_agent.diagnostics.bundle import build_zip, export_diagnostics, versions

__all__ = ["build_zip", "export_diagnostics", "versions"]
