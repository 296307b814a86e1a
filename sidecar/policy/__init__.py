"""The organization policy, enforced per request: allowed models, rate limits, quotas.

The agent validates the policy and sends its enforced part over stdin (``STATE.policy``);
the agent also counts quota usage over every sidecar and sends it (``STATE.usage``). The
ASGI wrapper (``sidecar.asgi``) asks ``PolicyGate`` once per request, ahead of the fast
path and of LiteLLM, so every served route is checked by the same code, once.
"""

from sidecar.policy.gate import Admission, PolicyGate
from sidecar.policy.refusal import Refusal

__all__ = ["Admission", "PolicyGate", "Refusal"]
