"""The sidecar: a LiteLLM proxy served by our own entry, with the bridge hook wired in.

Nothing in this package may import litellm at module level except the modules that only the
running sidecar loads (``entry`` imports it lazily, after setting the offline environment).
"""
