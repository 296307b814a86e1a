"""Doctor's direct upstream request carries exactly what the sidecar would send.

Doctor applies the sidecar's own injection functions (``sidecar.inject``) to its test request,
with the environment the sidecar would get; these tests fail when doctor's precedence or its
idea of that environment drifts from the sidecar's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sidecar.inject import inject_extra_body, parse_spec
from tests.agentproc import write_config
from tests.conftest import free_port
from tests.standins.llm import StandInLLM
from tests.standins.tokens import mint
from tray_agent.doctor.context import DoctorContext
from tray_agent.doctor.upstream_check import check_upstream
from tray_agent.envstore import EnvStore
from tray_agent.fsutil import atomic_write
from tray_agent.paths import HOME_ENV, Paths, get_paths
from tray_agent.secrets import MemoryStore, SecretStore

pytestmark = pytest.mark.timeout(120)

MODEL = "corp-llm"
EXTRA_BODY = {
    "token": "os.environ/LITELLM_BRIDGE_TOKEN",
    "project": "os.environ/CORP_PROJECT",
    "tier": "gold",
}


@pytest.fixture(scope="module")
def llm() -> Iterator[StandInLLM]:
    with StandInLLM() as server:
        yield server


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    p = get_paths()
    p.ensure()
    return p


@pytest.fixture
def store() -> SecretStore:
    return MemoryStore()


def configure(paths: Paths, store: SecretStore, llm: StandInLLM) -> str:
    """The internal model behind the token contract, and a stored token; returns the token."""
    write_config(
        paths.config_dir.parent,
        free_port(),
        extra_models=[
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": "hosted_vllm/internal-model",
                    "api_base": llm.url + "/v1",
                    "api_key": "llm-key-value-1234",
                    "extra_body": dict(EXTRA_BODY),
                },
            }
        ],
    )
    token, _exp = mint("e1001", 600.0)
    store.set("token", token)
    state = {"token": {"employee_id": "e1001", "expires_at": time.time() + 600, "has_token": True}}
    atomic_write(paths.state_file, json.dumps(state))
    return token


def sidecar_would_send(
    ctx: DoctorContext, body: dict[str, Any], token: str, environ: dict[str, str]
) -> dict[str, Any]:
    """The upstream body the sidecar builds from the spec the agent would give it."""
    spec = parse_spec(ctx.rendered().inject_json)
    out = dict(body)
    inject_extra_body(out, spec[MODEL], token, environ)
    out.update(out.pop("extra_body", None) or {})
    return out


def received(llm: StandInLLM) -> dict[str, Any]:
    bodies = [r.body for r in llm.completions()]
    assert len(bodies) == 1, bodies
    body = bodies[0]
    assert isinstance(body, dict)
    return body


def test_env_fields_come_from_the_environment_the_sidecar_gets(
    paths: Paths, store: SecretStore, llm: StandInLLM
) -> None:
    token = configure(paths, store, llm)
    shell = {"CORP_PROJECT": "proj-from-the-shell"}
    # Only in the process environment: the sidecar inherits it, so it is injected.
    llm.clear()
    ctx = DoctorContext(paths, environ=dict(shell), secret_store=lambda: store)
    r = check_upstream(ctx)
    assert r.status == "pass", r.detail
    body = received(llm)
    assert body["project"] == "proj-from-the-shell" and body["tier"] == "gold"
    assert body["token"] == token
    # An enabled env entry of the same name wins, as it does in the sidecar's environment.
    EnvStore(paths.env_file, store).set("CORP_PROJECT", "proj-from-the-entry", secret=False)
    llm.clear()
    ctx = DoctorContext(paths, environ=dict(shell), secret_store=lambda: store)
    assert check_upstream(ctx).status == "pass"
    body = received(llm)
    assert body["project"] == "proj-from-the-entry"
    sent = {k: v for k, v in body.items() if k not in EXTRA_BODY}
    expected = sidecar_would_send(
        ctx, sent, token, {**shell, "CORP_PROJECT": "proj-from-the-entry"}
    )
    assert body == expected


def test_a_field_set_as_literal_and_as_token_carries_the_token_like_the_sidecar(
    paths: Paths, store: SecretStore, llm: StandInLLM
) -> None:
    token = configure(paths, store, llm)
    ctx = DoctorContext(paths, environ={"CORP_PROJECT": "p"}, secret_store=lambda: store)
    rendered = ctx.rendered()
    assert rendered is not None
    # The spec format allows one field in several groups; the sidecar's token wins.
    rendered.inject[MODEL]["literal"]["token"] = "literal-not-a-token"
    llm.clear()
    r = check_upstream(ctx)
    assert r.status == "pass", r.detail
    body = received(llm)
    assert body["token"] == token
    sent = {k: v for k, v in body.items() if k not in EXTRA_BODY}
    assert body == sidecar_would_send(ctx, sent, token, {"CORP_PROJECT": "p"})


def test_without_a_stored_token_nothing_is_sent(
    paths: Paths, store: SecretStore, llm: StandInLLM
) -> None:
    configure(paths, store, llm)
    store.delete("token")
    llm.clear()
    r = check_upstream(DoctorContext(paths, environ={}, secret_store=lambda: store))
    assert r.status == "fail" and "none is stored" in r.detail
    assert llm.completions() == []


def test_the_agent_bundle_ships_the_sidecar_modules_doctor_imports() -> None:
    # The frozen agent excludes the sidecar package from its archive: what it imports of it
    # is copied as source (installer/build.py) and may need nothing the agent does not freeze.
    import ast
    import sys

    from installer import build
    from installer.imports import imported_modules

    needed = {m for m in imported_modules(build.ROOT / "tray_agent") if m.startswith("sidecar.")}
    shipped = {s.removesuffix(".py").replace("/", ".") for s in build.AGENT_SIDECAR_SOURCES}
    assert needed and needed <= shipped and "sidecar.__init__" in shipped
    for source in build.AGENT_SIDECAR_SOURCES:
        tree = ast.parse((build.ROOT / source).read_text(encoding="utf-8"))
        for node in tree.body:  # module level: what importing it needs
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (source, name)
