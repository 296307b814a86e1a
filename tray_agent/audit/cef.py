"""ArcSight CEF records of audit lines, one a line (UTF-8).

``CEF:0|LiteLLM Bridge|litellm-bridge|<version>|<event>|<name>|<severity>|<extension>``.
Escaping as the CEF standard asks: ``\\`` and ``|`` in header fields; ``\\``, ``=`` and line
breaks (as ``\\n``/``\\r``) in extension values. Severity is 0-10 (from OCSF's 1-5).
Extension keys are CEF dictionary names (``rt``, ``suser``, ``request``, ``outcome``, ...)
and labelled custom fields; ``cs5`` holds the line's other fields as JSON and ``cs6`` the
original audit line in base64, which verify checks as a chain. The header is the first
record (event ``audit.export``), its signed header JSON in base64 in ``cs6``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from tray_agent.audit import mapping
from tray_agent.audit.chain import decode

HEADER_EVENT = "audit.export"
LINE_KEY, LINE_LABEL = "cs6", "auditLine"
HEADER_LABEL = "auditExport"
_SEVERITY = {0: 0, 1: 1, 2: 3, 3: 5, 4: 8, 5: 10}
# Fields of a line a dictionary or labelled field holds (the rest goes to cs5 as JSON).
_COMMON = {"seq", "time", "event", "prev", "employee_id", "client", "error"}
_REQUEST = _COMMON | {"route", "status", "latency_ms", "request_id", "model", "decision",
                      "tokens_in", "tokens_out"}  # fmt: skip


def escape_header(value: str) -> str:
    flat = value.replace("\r", " ").replace("\n", " ")  # no line break in a header field
    return flat.replace("\\", "\\\\").replace("|", "\\|")


def escape_value(value: str) -> str:
    out = value.replace("\\", "\\\\").replace("=", "\\=")
    return out.replace("\r", "\\r").replace("\n", "\\n")


def _line(name: str, sev: int, ctx: mapping.Context, ext: list[tuple[str, Any]]) -> str:
    head = [
        "CEF:0",
        escape_header(mapping.VENDOR),
        escape_header(mapping.PRODUCT_ID),
        escape_header(ctx.product_version),
        escape_header(name),
        escape_header(mapping.title(name)),
        str(_SEVERITY.get(sev, 0)),
    ]
    pairs = [f"{k}={escape_value(str(v))}" for k, v in ext if v is not None]
    return "|".join(head) + "|" + " ".join(pairs)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, sort_keys=True)


def record_line(line: bytes, ctx: mapping.Context) -> str:
    """The CEF record of one audit line (``ValueError`` when it is not one)."""
    rec = decode(line)
    name = str(rec["event"])
    failed = mapping.is_failure(rec)
    ext: list[tuple[str, Any]] = [
        ("rt", mapping.epoch_ms(rec["time"])),
        ("externalId", rec["seq"]),
        ("dvchost", ctx.host),
        ("suser", rec.get("employee_id")),
        ("requestClientApplication", rec.get("client")),
        ("outcome", "failure" if failed else "success"),
    ]
    if name == "request":
        ext += [
            ("request", rec.get("route")),
            ("act", rec.get("decision")),
            ("cs1Label", "requestId"),
            ("cs1", rec.get("request_id")),
            ("cs2Label", "model"),
            ("cs2", rec.get("model")),
            ("cn1Label", "tokensIn"),
            ("cn1", _int(rec.get("tokens_in"))),
            ("cn2Label", "tokensOut"),
            ("cn2", _int(rec.get("tokens_out"))),
            ("cn3Label", "httpStatus"),
            ("cn3", _int(rec.get("status"))),
            ("cfp1Label", "latencyMs"),
            ("cfp1", rec.get("latency_ms")),
        ]
    if rec.get("error") is not None:
        ext.append(("msg", rec.get("error")))
    mapped = _REQUEST if name == "request" else _COMMON
    other = {k: v for k, v in rec.items() if k not in mapped}
    if other:
        ext += [("cs5Label", "fields"), ("cs5", _json(other))]
    ext += [(LINE_KEY + "Label", LINE_LABEL), (LINE_KEY, _b64(line))]
    return _line(name, mapping.severity(rec), ctx, ext)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def header_line(header: Mapping[str, Any], ctx: mapping.Context) -> str:
    ext: list[tuple[str, Any]] = [
        ("rt", mapping.epoch_ms(str(header["time"]))),
        ("dvchost", ctx.host),
        ("outcome", "success"),
        (LINE_KEY + "Label", HEADER_LABEL),
        (LINE_KEY, _b64(_json(dict(header)).encode("ascii"))),
    ]
    return _line(HEADER_EVENT, 1, ctx, ext)


# The extension's last field is always cs6 (base64: no space, no escape but ``\=``).
_LAST = re.compile(r"(?:^|\s)" + LINE_KEY + r"=((?:[A-Za-z0-9+/]|\\=)*)$")


def _last_value(text: str) -> str:
    match = _LAST.search(text)
    if match is None:
        raise ValueError(f"the record has no {LINE_KEY} field")
    return match.group(1).replace("\\=", "=")


def read_header(text: str) -> dict[str, Any] | None:
    """The signed header of a CEF export's first line (None: not one)."""
    if not text.startswith("CEF:0|") or f"|{HEADER_EVENT}|" not in text:
        return None
    try:
        header = json.loads(base64.b64decode(_last_value(text), validate=True))
    except (ValueError, binascii.Error):
        return None
    return header if isinstance(header, dict) else None


def raw_of(text: str) -> bytes:
    """The audit line an exported record carries (``ValueError`` when it carries none)."""
    try:
        return base64.b64decode(_last_value(text), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"the {LINE_KEY} field is not base64 ({exc})") from None
