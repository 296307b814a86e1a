"""The OCSF and CEF exports as a SIEM reads them.

OCSF: every record validates as an OCSF 1.6.0 API Activity with pydantic-ocsf (models built
from the OCSF schema: types, enums, required attributes, class_uid and type_uid checks),
with no attribute the schema does not define. CEF: no maintained CEF parser is on PyPI
(pycef's last release is from 2020 and its header pattern rejects any ``\\`` or ``=`` in a
header field, it does not unescape values), so a strict parser of the CEF standard's rules
is written here: 6 header fields after the version, only ``\\|`` and ``\\\\`` escapes in
them, an extension of ``key=value`` pairs whose values escape ``\\``, ``=`` and line breaks
and nothing else.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from ocsf.v1_6_0.events import ApiActivity
from pydantic import BaseModel

from tests.audit.logmaker import AWKWARD, EMPLOYEE, Log, make_log
from tray_agent.audit.chain import decode, parse_stamp
from tray_agent.audit.export import export_log
from tray_agent.paths import Paths


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Log, dict[str, Path]]:
    root = tmp_path_factory.mktemp("formats")
    log = make_log(root / "audit", days=2, per_day=30)
    out = {}
    for fmt in ("ocsf", "cef"):
        out[fmt] = root / f"export.{fmt}"
        export_log(log.dir, out[fmt], fmt, log.signer, log.keys)
    return log, out


def no_extras(model: BaseModel, where: str = "") -> list[str]:
    """Attributes the OCSF schema does not define (the models allow extras: check here)."""
    found = [f"{where}{k}" for k in (model.model_extra or {}) if k != "unmapped"]
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, BaseModel) and name != "unmapped":
                found += no_extras(item, f"{where}{name}.")
    return found


def test_every_ocsf_record_is_a_valid_api_activity(exported: Any) -> None:
    log, out = exported
    lines = out["ocsf"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(log.lines()) + 1  # the header, then every line
    seen_activities = set()
    for number, text in enumerate(lines, start=1):
        event = json.loads(text)
        model = ApiActivity.model_validate(event)  # raises on any schema violation
        assert no_extras(model) == [], f"line {number}"
        assert event["class_uid"] == 6003 and event["category_uid"] == 6
        assert event["type_uid"] == 6003 * 100 + event["activity_id"]
        assert event["metadata"]["version"] == "1.6.0"
        assert event["metadata"]["product"]["name"] == "LiteLLM Bridge"
        if number == 1:
            assert event["unmapped"]["audit_export"]["count"] == len(lines) - 1
            continue
        raw = event["raw_data"].encode()
        rec = decode(raw)
        assert raw == log.lines()[number - 2]
        assert event["time"] == round(parse_stamp(rec["time"]) * 1000)  # epoch ms
        assert event["metadata"]["sequence"] == rec["seq"]
        seen_activities.add((rec["event"], event["activity_id"]))
        if rec["event"] == "request":
            assert event["activity_id"] == 99 and event["activity_name"] == "Invoke"
            assert event["api"]["operation"] == rec["route"]
            assert event["actor"]["user"]["uid"] == EMPLOYEE
            assert event["actor"]["app_name"] == rec["client"]
            assert event["http_response"]["code"] == rec["status"]
            assert event["http_request"]["url"]["path"] == rec["route"]
            assert event["unmapped"]["tokens_in"] == rec["tokens_in"]
            assert event["unmapped"]["project"] == {"project": "apollo"}
            assert event["status"] == ("Success" if rec["status"] < 400 else "Failure")
            if rec.get("error") == AWKWARD:
                assert event["status_detail"] == AWKWARD and event["severity_id"] == 3
    assert {("env.added", 1), ("config.applied", 3), ("token.logout", 4),
            ("token.login", 1), ("audit.checkpoint", 99)} <= seen_activities  # fmt: skip


def test_an_invalid_ocsf_event_is_rejected_by_the_validator(exported: Any) -> None:
    """The validator is not a rubber stamp: the mistakes an exporter could make fail."""
    _log, out = exported
    good = json.loads(out["ocsf"].read_text(encoding="utf-8").splitlines()[5])
    for bad in ({"type_uid": 600301}, {"time": "yesterday"}, {"severity_id": 42},
                {"api": {}}, {"class_uid": 1001}):  # fmt: skip
        with pytest.raises(ValueError):
            ApiActivity.model_validate({**good, **bad})


# -- a strict CEF parser ---------------------------------------------------------------------
_HEADER_ESCAPE = re.compile(r"\\(.)")
_KEY = re.compile(r"[A-Za-z0-9_.]+")


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """(the 6 header fields after ``CEF:0``, the extension) of one CEF line, or ValueError."""
    if not line.startswith("CEF:0|"):
        raise ValueError("no CEF:0 prefix")
    fields, current, i, rest = [], "", len("CEF:0|"), line
    while len(fields) < 6:
        if i >= len(rest):
            raise ValueError("fewer than 6 header fields")
        ch = rest[i]
        if ch == "\\":
            nxt = rest[i + 1 : i + 2]
            if nxt not in ("|", "\\"):
                raise ValueError(f"bad header escape \\{nxt}")
            current += nxt
            i += 2
        elif ch == "|":
            fields.append(current)
            current, i = "", i + 1
        else:
            if ch in "\r\n":
                raise ValueError("line break in a header field")
            current += ch
            i += 1
    return fields, parse_extension(rest[i:])


def parse_extension(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(text):
        eq = text.find("=", i)
        key = text[i:eq]
        if eq < 0 or not _KEY.fullmatch(key):
            raise ValueError(f"bad extension key {key!r}")
        i, value = eq + 1, ""
        while i < len(text):
            ch = text[i]
            if ch == "\\":
                nxt = text[i + 1 : i + 2]
                mapped = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}.get(nxt)
                if mapped is None:
                    raise ValueError(f"bad value escape \\{nxt}")
                value += mapped
                i += 2
            elif ch == "=":
                raise ValueError(f"unescaped = in the value of {key}")
            elif ch == " " and _KEY.match(text, i + 1) and _next_is_key(text, i + 1):
                i += 1
                break
            else:
                value += ch
                i += 1
        if key in out:
            raise ValueError(f"{key} twice")
        out[key] = value
    return out


def _next_is_key(text: str, at: int) -> bool:
    match = _KEY.match(text, at)
    return match is not None and text[match.end() : match.end() + 1] == "="


def test_the_strict_cef_parser_refuses_what_the_standard_forbids() -> None:
    assert parse_cef("CEF:0|a\\|b|p|1|e|n|1|k=v\\=w x=y\\\\")[1] == {"k": "v=w", "x": "y\\"}
    for bad in ("CEF:0|a|b|c|d|e|f", "CEF:0|a\\x|b|c|d|e|f|", "CEF:0|a|b|c|d|e|f|k=v=w",
                "CEF:0|a|b|c|d|e|f|k=v\\q", "CEF:0|a|b|c|d|e|f|k=1 k=2"):  # fmt: skip
        with pytest.raises(ValueError):
            parse_cef(bad)


def test_every_cef_record_parses_and_keeps_awkward_values(exported: Any) -> None:
    log, out = exported
    lines = out["cef"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(log.lines()) + 1
    awkward = 0
    for number, text in enumerate(lines, start=1):
        head, ext = parse_cef(text)
        vendor, product, _version, event_class, _name, severity = head[:6]
        assert (vendor, product) == ("LiteLLM Bridge", "litellm-bridge")
        assert 0 <= int(severity) <= 10
        raw = base64.b64decode(ext["cs6"], validate=True)
        if number == 1:
            assert event_class == "audit.export" and ext["cs6Label"] == "auditExport"
            assert json.loads(raw)["count"] == len(lines) - 1
            continue
        assert ext["cs6Label"] == "auditLine" and raw == log.lines()[number - 2]
        rec = decode(raw)
        assert event_class == rec["event"] and int(ext["externalId"]) == rec["seq"]
        assert int(ext["rt"]) == round(parse_stamp(rec["time"]) * 1000)
        if rec["event"] == "request":
            assert ext["suser"] == EMPLOYEE and ext["request"] == rec["route"]
            assert ext["cs1Label"] == "requestId" and ext["cs1"] == rec["request_id"]
            assert int(ext["cn3"]) == rec["status"]
            assert ext["outcome"] == ("success" if rec["status"] < 400 else "failure")
            if rec.get("error") == AWKWARD:
                assert ext["msg"] == AWKWARD  # | = \ and a non-ASCII letter, unescaped back
                awkward += 1
        if rec["event"] == "env.added":
            assert json.loads(ext["cs5"])["name"] == "CORP|PROJECT=X"
    assert awkward >= 2


def test_a_header_field_with_a_pipe_and_a_backslash_is_escaped(
    paths: Paths, tmp_path: Path
) -> None:
    log = make_log(paths.audit_dir, days=1, per_day=2)
    target = tmp_path / "x.cef"
    export_log(log.dir, target, "cef", log.signer, log.keys, version="1.0|beta\\2")
    for text in target.read_text(encoding="utf-8").splitlines():
        head, _ext = parse_cef(text)
        assert head[2] == "1.0|beta\\2"
