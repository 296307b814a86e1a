"""The shared real sidecar, stand-in LLM and pinned CLIs (tests/clients/bridge.py)."""

from tests.clients.bridge import cli_bin, llm, sidecar

__all__ = ["cli_bin", "llm", "sidecar"]
