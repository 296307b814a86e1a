"""Reading an IAM answer: dotted-path lookup, expiry parsing, the token's shape, body templates.

Pure functions shared by the dialects, so both refuse the same malformed answers with the same
messages (naming the ``bridge.iam`` field to fix, never the value of a token).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tray_agent.token.iam.errors import IamResponseError

log = logging.getLogger("tray_agent.token")


# Longer lifetimes are clamped (and renewed before then): a lifetime of centuries is a unit
# mistake on the IAM's side, and every date shown or scheduled must stay computable.
MAX_LIFETIME = 30 * 24 * 3600.0
# Epoch numbers by magnitude: below 1e11 seconds (until year 5138), then ms, µs, ns.
_EPOCH_UNITS: tuple[tuple[float, float, str], ...] = (
    (1e11, 1.0, "seconds"),
    (1e14, 1e3, "milliseconds"),
    (1e17, 1e6, "microseconds"),
    (1e20, 1e9, "nanoseconds"),
)
_PLACEHOLDER = re.compile(r"\{(employee_id|password)\}")
# What a token or refresh token may look like, checked when it arrives and when it is read
# back: it goes into HTTP headers and the keyring, so visible ASCII on one line, bounded.
TOKEN_SHAPE = re.compile(r"[!-~]{1,65536}")


def substitute(template: Any, values: Mapping[str, str]) -> Any:
    """Replace ``{employee_id}`` / ``{password}`` inside string values, in one pass.

    The values are inserted as data into a parsed structure (then JSON-encoded by the
    client), so quotes, braces or backslashes in a password cannot change the shape of
    the body or trigger a second substitution.
    """
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    if isinstance(template, dict):
        return {k: substitute(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [substitute(v, values) for v in template]
    return template


def lookup(data: Any, path: str, url: str, field: str) -> Any:
    """Follow a dotted path (``data.session.jwt``, list indexes as numbers)."""
    current = data
    walked: list[str] = []
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            where = ".".join(walked) or "the top level"
            if isinstance(current, dict):
                seen = ", ".join(sorted(map(str, current))[:10]) or "none"
                found = f"keys there: {seen}"
            else:
                found = f"found {type(current).__name__} there"
            raise IamResponseError(
                f"the answer of the IAM at {url} has no {path!r} (bridge.iam.{field}): "
                f"{part!r} is missing under {where} ({found}); fix bridge.iam.{field}",
                url,
            )
        walked.append(part)
    return current


def parse_expires_at(raw: Any, url: str = "", path: str = "expires_at_path") -> float:
    """An absolute expiry -> epoch seconds, or an IamResponseError naming ``path`` and ``url``.

    Epoch numbers (or numeric strings) in seconds, milliseconds, microseconds or nanoseconds,
    told apart by magnitude and converted; ISO 8601 (no offset: UTC). Refused: booleans,
    non-numbers, NaN/Infinity, zero or negative, and numbers too large for any epoch unit.
    """
    value: float | None = None
    kind = "neither epoch seconds nor ISO 8601"
    iso = False
    if isinstance(raw, bool):
        kind = "a boolean, not a time"
    elif isinstance(raw, int | float | str):
        value, kind, iso = _epoch_or_iso(raw)
    if value is not None:
        if not math.isfinite(value):
            value, kind = None, "not a finite number"
        elif value <= 0:
            value, kind = None, "not after 1970 (zero or negative)"
    if value is None:
        raise _refused(url, path, raw, kind, "expires_at_path")
    if iso:  # a date has no unit to guess: a far one is clamped by the dialect
        return value
    for limit, per_second, unit in _EPOCH_UNITS:
        if value < limit:
            if per_second != 1.0:
                log.info("token expiry at %s read as epoch %s", path, unit)
            return value / per_second
    raise _refused(url, path, raw, "too large for epoch seconds, ms, µs or ns", "expires_at_path")


def parse_expires_in(raw: Any, url: str = "", path: str = "expires_in_path") -> float:
    """A lifetime in seconds (number or numeric string) -> float, or an IamResponseError.

    Refused: booleans, non-numbers, NaN/Infinity, zero or negative. Long lifetimes are
    accepted here and clamped by the dialect (:data:`MAX_LIFETIME`).
    """
    value: float | None = None
    kind = "not a number of seconds"
    if isinstance(raw, bool):
        kind = "a boolean, not a number of seconds"
    elif isinstance(raw, int | float | str):
        try:
            value = float(raw)
        except (OverflowError, ValueError):
            value = math.inf if isinstance(raw, int) else None
    if value is not None:
        if not math.isfinite(value):
            value, kind = None, "not a finite number"
        elif value <= 0:
            value, kind = None, "not a positive number of seconds"
    if value is None:
        raise _refused(url, path, raw, kind, "expires_in_path")
    return value


def _epoch_or_iso(raw: int | float | str) -> tuple[float | None, str, bool]:
    """(epoch number or ISO timestamp, why not when None, whether it was ISO 8601)."""
    if isinstance(raw, int):
        try:
            return float(raw), "", False
        except OverflowError:  # an integer beyond any float
            return math.inf, "", False
    if isinstance(raw, float):
        return raw, "", False
    text = raw.strip()
    try:
        return float(text), "", False
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None, "neither epoch seconds nor ISO 8601", False
    if parsed.tzinfo is None:  # no offset: the IAM means UTC
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.timestamp(), "", True
    except (OverflowError, ValueError):
        return None, "a date out of range", False


def checked_token(raw: Any, url: str, field: str, hint: str) -> str:
    """``raw`` if it has :data:`TOKEN_SHAPE`, else an IamResponseError naming ``field``.

    Both dialects check the token (and refresh token) here, on sign-in and on refresh, so
    nothing that would be refused when read back is saved or used. The message never shows
    the value: a mangled token may still be a secret.
    """
    if isinstance(raw, str) and TOKEN_SHAPE.fullmatch(raw):
        return raw
    if not isinstance(raw, str):
        what = f"not a string ({type(raw).__name__})"
    elif not raw:
        what = "empty"
    elif len(raw) > 65536:
        what = f"{len(raw):,} characters long (at most 65,536)"
    elif any(ch in raw for ch in "\r\n"):
        what = "more than one line"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        what = "holding control characters"
    else:
        what = "holding spaces or characters outside printable ASCII"
    raise IamResponseError(
        f"the IAM at {url} sent a {field} that is {what}, not a token (one line of printable "
        f"ASCII up to 64 KiB); the token was refused and nothing was saved; check {hint}",
        url,
    )


def _refused(url: str, path: str, raw: Any, kind: str, key: str) -> IamResponseError:
    shown = repr(raw) if isinstance(raw, int | float | str) else type(raw).__name__
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return IamResponseError(
        f"the IAM at {url} sent an expiry at {path!r} that is {kind} ({shown}); the token "
        f"was refused and nothing was saved; check the IAM's answer and bridge.iam.{key}",
        url,
    )


def span(seconds: float) -> str:
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    if seconds < 730 * 86400:
        return f"{seconds / 86400:.0f} days"
    years = seconds / (365.25 * 86400)
    return f"{years:,.0f} years" if years < 1e9 else f"{years:.3g} years"
