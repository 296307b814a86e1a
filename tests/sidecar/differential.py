"""Shared pieces of the differential tests: one request sent to two sidecars, compared.

The same effective config runs twice, once with the fast path and once without: LiteLLM is
the oracle. Both hold the same token, so the stand-in sees byte-comparable bodies. What
differs by nature is normalised away, each item named (see docs/FAST_PATH.md):

* ids LiteLLM or the adapters make up per answer (``msg_<uuid>``, ``resp_...``, item ids)
  and creation times;
* the text of upstream error messages (LiteLLM's names its exception chain).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.sidecar import Sidecar, chat_model, write_effective_config
from tests.sidecar.common import PROJECT, fresh_token, start
from tests.standins.llm import StandInLLM

# A client-facing name different from the upstream's, so the model each answer reports shows.
MODEL = "claude-test"
UPSTREAM_MODEL = "internal-model"
_FIELDS = {"token": ["token"], "literal": {"project": PROJECT}}
# The shipped templates' wildcard shapes: any name onto one model, and a name family passed on.
ONTO_ONE = "claude-*"
PASSED_ON = "*"
INJECT = {MODEL: _FIELDS, ONTO_ONE: _FIELDS, PASSED_ON: _FIELDS}
LITELLM_MARK = "x-litellm-call-id"
# Values made up per answer: compared by presence, not value.
_VOLATILE_KEYS = frozenset({"id", "created_at", "created", "item_id", "call_id_generated"})
_VOLATILE_TEXT = re.compile(r"(msg|resp|fc|rs)_[A-Za-z0-9_\-=]{8,}")


@dataclass
class Pair:
    fast: Sidecar
    litellm: Sidecar


def write_config(directory: Path, llm: StandInLLM) -> Path:
    entries = []
    for name, model in (
        (MODEL, UPSTREAM_MODEL),
        (ONTO_ONE, UPSTREAM_MODEL),
        (PASSED_ON, "*"),
    ):
        entry = chat_model(name, llm.url + "/v1")
        entry["litellm_params"]["model"] = f"hosted_vllm/{model}"
        entries.append(entry)
    return write_effective_config(directory, entries)


def start_pair(config_path: Path) -> Iterator[Pair]:
    token = fresh_token()
    fast = start(config_path, inject=INJECT, extra_env={"LITELLM_BRIDGE_FAST_PATH": "on"})
    try:
        litellm = start(config_path, inject=INJECT, extra_env={"LITELLM_BRIDGE_FAST_PATH": "off"})
    except BaseException:
        fast.stop()
        raise
    try:
        for sidecar in (fast, litellm):
            sidecar.send_token(*token)
        yield Pair(fast, litellm)
    finally:
        fast.stop()
        litellm.stop()


@dataclass
class Exchange:
    """What one request did: the upstream bodies, the status and the client's answer."""

    upstream: list[Any]
    status: int
    answer: Any
    served_by_litellm: bool


def parse_sse(text: str) -> list[dict[str, Any]]:
    """The events of an SSE answer: event name (if any) and data, in order."""
    events = []
    for block in re.split(r"\r?\n\r?\n", text):
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            joined = "\n".join(data)
            payload = joined if joined == "[DONE]" else json.loads(joined)
            events.append({"event": name, "data": payload})
    return events


def normalise(value: Any) -> Any:
    """The value with made-up ids and times replaced by a placeholder."""
    if isinstance(value, dict):
        return {
            k: ("<volatile>" if k in _VOLATILE_KEYS and v is not None else normalise(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return _VOLATILE_TEXT.sub(r"\1_<volatile>", value)
    return value


def send(
    sidecar: Sidecar,
    llm: StandInLLM,
    path: str,
    body: dict[str, Any],
    style: str,
    clear: bool = True,
) -> Exchange:
    if clear:
        llm.clear()
    if style == "anthropic":
        headers = {"x-api-key": sidecar.master_key, "anthropic-version": "2023-06-01"}
    else:
        headers = {"Authorization": f"Bearer {sidecar.master_key}"}
    response = httpx.post(sidecar.url + path, json=body, headers=headers, timeout=60)
    streamed = response.headers.get("content-type", "").startswith("text/event-stream")
    answer: Any = parse_sse(response.text) if streamed else response.json()
    return Exchange(
        upstream=[r.body for r in llm.completions()],
        status=response.status_code,
        answer=answer,
        served_by_litellm=LITELLM_MARK in response.headers,
    )


def compare(
    pair: Pair, llm: StandInLLM, path: str, body: dict[str, Any], style: str, fast: bool = True
) -> tuple[Exchange, Exchange]:
    """Send to both; assert who served and that upstream bodies and answers are the same."""
    ours = send(pair.fast, llm, path, body, style)
    oracle = send(pair.litellm, llm, path, body, style)
    assert oracle.served_by_litellm
    assert ours.served_by_litellm is not fast, "served by the wrong path"
    assert ours.upstream == oracle.upstream, (ours.upstream, oracle.upstream)
    assert ours.status == oracle.status, (ours.answer, oracle.answer)
    mine, theirs = normalise(ours.answer), normalise(oracle.answer)
    assert mine == theirs, f"fast path:\n{mine}\nLiteLLM:\n{theirs}"
    return ours, oracle


def skip_without_upstream(exchange: Exchange) -> None:
    if not exchange.upstream:
        pytest.fail(f"nothing reached the stand-in: {exchange.answer}")


def compact_json(raw: bytes) -> bool:
    """True for JSON serialised without blanks after separators, as the fast path sends it.

    LiteLLM writes ``": "`` after a key: the stand-in's recorded bytes tell the paths apart
    where nothing else the upstream sees does (the e2e tests use this). Only the first key
    is looked at: string contents may hold anything.
    """
    head, colon, rest = raw.partition(b":")
    return bool(colon) and head.startswith(b'{"') and not rest.startswith(b" ")


def event_fields(
    pair: Pair, llm: StandInLLM, path: str, body: dict[str, Any], style: str
) -> list[dict[str, Any]]:
    """The request event each sidecar records for ``body`` (fast path first), minus timings."""
    fields = []
    for sidecar in (pair.fast, pair.litellm):
        before = len(sidecar.request_events())
        send(sidecar, llm, path, body, style)
        event = sidecar.wait_event(
            lambda e, s=sidecar, n=before: e in s.request_events()[n:] and e.get("route") == path
        )
        fields.append(
            {k: v for k, v in event.items() if k not in ("latency_ms", "request_id", "ts")}
        )
    return fields
