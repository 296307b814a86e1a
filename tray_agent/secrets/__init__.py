"""Secret storage: the OS keyring, or memory for this run only when no secure backend exists.

Never a plaintext fallback. Names used by the product:
``master-key``, ``token``, ``refresh-token``, ``iam-password``, ``env:<NAME>``.
"""

from tray_agent.secrets.store import (
    SERVICE,
    KeyringStore,
    MemoryStore,
    SecretStore,
    open_secret_store,
)

__all__ = ["SERVICE", "KeyringStore", "MemoryStore", "SecretStore", "open_secret_store"]
