"""OCSF 1.6 API Activity (class 6003) records of audit lines, one JSON object a line.

Every record is rendered from its audit line alone (and the export's ``Context``), so verify
can render it again and notice an edit of any mapped field, not only of ``raw_data``.
Mapped: ``time`` (epoch ms), activity and severity (``mapping.py``), ``api.operation`` (the
route, or the event name), ``http_request``/``http_response`` for requests, the employee ID
as ``actor.user.uid``, the client tool (else the bridge) as ``actor.app_name``, the machine as
``src_endpoint.hostname``, ``metadata`` (product, ``version`` 1.6.0, ``sequence`` = seq,
``event_code`` = event name); every other field of the line goes to ``unmapped``; the line
itself is ``raw_data``. The export's header is the first record: an API Activity "Read"
named ``audit.export`` whose ``unmapped.audit_export`` holds the signed header.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tray_agent.audit import mapping
from tray_agent.audit.chain import decode

CLASS_UID = 6003
CATEGORY_UID = 6
OCSF_VERSION = "1.6.0"
HEADER_EVENT = "audit.export"
# Fields of a line that a mapped attribute holds (the rest goes to ``unmapped``).
_COMMON = {"seq", "time", "event", "prev", "employee_id", "client", "error"}
_REQUEST = _COMMON | {"route", "status", "latency_ms", "request_id"}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _base(
    name: str, time_ms: int, sev: int, failed: bool | None, ctx: mapping.Context
) -> dict[str, Any]:
    activity_id, activity_name = mapping.activity(name)
    status_id = 0 if failed is None else (2 if failed else 1)
    return {
        "class_uid": CLASS_UID,
        "class_name": "API Activity",
        "category_uid": CATEGORY_UID,
        "category_name": "Application Activity",
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": f"API Activity: {activity_name}",
        "time": time_ms,
        "severity_id": sev,
        "severity": mapping.SEVERITY_NAMES[sev],
        "status_id": status_id,
        "status": {0: "Unknown", 1: "Success", 2: "Failure"}[status_id],
        "message": mapping.title(name),
        "api": {"operation": name, "service": {"name": mapping.PRODUCT_ID}},
        "src_endpoint": {"hostname": ctx.host},
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "name": mapping.PRODUCT,
                "vendor_name": mapping.VENDOR,
                "version": ctx.product_version,
            },
            "log_name": "audit",
            "event_code": name,
        },
    }


def record(line: bytes, ctx: mapping.Context) -> dict[str, Any]:
    """The OCSF event of one audit line (``ValueError`` when it is not one)."""
    rec = decode(line)
    name = str(rec["event"])
    event = _base(name, mapping.epoch_ms(rec["time"]), mapping.severity(rec),
                  mapping.is_failure(rec), ctx)  # fmt: skip
    event["metadata"]["sequence"] = rec["seq"]
    event["metadata"]["original_time"] = rec["time"]
    # actor is required: the client tool that made the request, else the bridge itself.
    event["actor"] = {"app_name": str(rec.get("client") or mapping.PRODUCT_ID)}
    if rec.get("employee_id") is not None:
        event["actor"]["user"] = {"uid": str(rec["employee_id"])}
    if name == "request":
        route = str(rec.get("route") or "")
        event["api"]["operation"] = route or name
        if rec.get("request_id") is not None:
            event["api"]["request"] = {"uid": str(rec["request_id"])}
            event["metadata"]["uid"] = str(rec["request_id"])
        if route:
            event["http_request"] = {"url": {"path": route}}
        if isinstance(rec.get("status"), int) and not isinstance(rec.get("status"), bool):
            response: dict[str, Any] = {"code": rec["status"]}
            if isinstance(rec.get("latency_ms"), int | float):
                response["latency"] = round(rec["latency_ms"])
            event["http_response"] = response
    if rec.get("error") is not None:
        event["status_detail"] = str(rec["error"])
    mapped = _REQUEST if name == "request" else _COMMON
    unmapped = {k: v for k, v in rec.items() if k not in mapped}
    if name == "request" and "http_response" not in event:  # no status: latency unmapped
        unmapped.update({k: rec[k] for k in ("status", "latency_ms") if k in rec})
    if unmapped:
        event["unmapped"] = unmapped
    event["raw_data"] = line.decode("ascii")
    return event


def record_line(line: bytes, ctx: mapping.Context) -> str:
    return _dumps(record(line, ctx))


def header_line(header: Mapping[str, Any], ctx: mapping.Context) -> str:
    event = _base(HEADER_EVENT, mapping.epoch_ms(str(header["time"])), 1, False, ctx)
    event["actor"] = {"app_name": mapping.PRODUCT_ID}
    event["unmapped"] = {"audit_export": dict(header)}
    return _dumps(event)


def read_header(text: str) -> dict[str, Any] | None:
    """The signed header of an OCSF export's first line (None: not one)."""
    try:
        event = json.loads(text)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("class_uid") != CLASS_UID:
        return None
    header = (event.get("unmapped") or {}).get("audit_export")
    return header if isinstance(header, dict) else None


def raw_of(text: str) -> bytes:
    """The audit line an exported record carries (``ValueError`` when it carries none)."""
    event = json.loads(text)
    raw = event.get("raw_data") if isinstance(event, dict) else None
    if not isinstance(raw, str):
        raise ValueError("the record has no raw_data")
    return raw.encode("ascii")
