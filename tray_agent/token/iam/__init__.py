"""IAM dialects behind one interface: sign in with employee ID + password, refresh silently.

Each dialect implements :class:`Iam` (``login`` and ``refresh``); :func:`iam_from_config` builds
the one the ``bridge.iam`` profile names. Where things are:

- ``errors``: :class:`Grant` and the :class:`IamError` family (retry or stop);
- ``transport``: :func:`iam_request`, the one HTTP call (deadline, size cap, decompression);
- ``answers``: reading an answer (dotted paths, expiry, the token's shape, body templates);
- ``base``: the :class:`Iam` interface and the status rules the dialects share;
- ``json_dialect`` / ``oauth2_password``: one module per dialect;
- ``factory`` / ``from_config``: profile -> dialect, and the env ``os.environ/NAME`` means.
"""

from tray_agent.token.iam.answers import (
    MAX_LIFETIME,
    TOKEN_SHAPE,
    checked_token,
    lookup,
    parse_expires_at,
    parse_expires_in,
    substitute,
)
from tray_agent.token.iam.base import MAX_RETRY_AFTER, Clock, Iam
from tray_agent.token.iam.errors import (
    CannotRefreshSilently,
    Grant,
    IamConfigError,
    IamError,
    IamResponseError,
    InvalidCredentialsError,
    PermanentIamError,
    TransientIamError,
)
from tray_agent.token.iam.factory import make_iam, resolve_env_ref, validated_profile
from tray_agent.token.iam.from_config import iam_endpoint, iam_from_config, sidecar_environ
from tray_agent.token.iam.json_dialect import JsonIam
from tray_agent.token.iam.oauth2_password import OAuth2PasswordIam
from tray_agent.token.iam.transport import (
    MAX_RESPONSE_BYTES,
    RETRY_HINT,
    IamReply,
    decode_json,
    iam_request,
)

__all__ = [
    "MAX_LIFETIME",
    "MAX_RESPONSE_BYTES",
    "MAX_RETRY_AFTER",
    "RETRY_HINT",
    "TOKEN_SHAPE",
    "CannotRefreshSilently",
    "Clock",
    "Grant",
    "Iam",
    "IamConfigError",
    "IamError",
    "IamReply",
    "IamResponseError",
    "InvalidCredentialsError",
    "JsonIam",
    "OAuth2PasswordIam",
    "PermanentIamError",
    "TransientIamError",
    "checked_token",
    "decode_json",
    "iam_endpoint",
    "iam_from_config",
    "iam_request",
    "lookup",
    "make_iam",
    "parse_expires_at",
    "parse_expires_in",
    "resolve_env_ref",
    "sidecar_environ",
    "substitute",
    "validated_profile",
]
