"""LiteLLM Bridge: a tray agent that runs a local LiteLLM proxy for internal LLM APIs."""

__version__ = "0.1.0"
APP_NAME = "litellm-bridge"
