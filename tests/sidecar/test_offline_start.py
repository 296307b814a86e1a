"""The sidecar's own entry keeps it offline: started without the offline variables the test
setup gives every child (tests/conftest.py), it still asks the internet for nothing.

Every proxy variable points at a recording proxy that refuses all traffic; only loopback is
exempt, so any fetch LiteLLM tried at import or start (model cost map, telemetry, hub
downloads) would show up in its record.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.corp_proxy import CorpProxy
from tests.helpers.sidecar import launch_sidecar, mock_model, write_effective_config
from tests.sidecar.common import READY_TIMEOUT

pytestmark = pytest.mark.timeout(300)

# What the test setup sets for every child; the entry must set them itself.
TEST_OFFLINE_VARS = ("LITELLM_OFFLINE_MODE", "LITELLM_LOCAL_MODEL_COST_MAP", "HF_HUB_OFFLINE")
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def proxy() -> Iterator[CorpProxy]:
    p = CorpProxy(serves=set()).start()
    yield p
    p.stop()


def test_sidecar_starts_offline_without_the_test_offline_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, proxy: CorpProxy
) -> None:
    for name in TEST_OFFLINE_VARS:
        monkeypatch.delenv(name, raising=False)
    config = write_effective_config(tmp_path, [mock_model("demo", reply="offline hello")])
    sidecar = launch_sidecar(config, extra_env=dict.fromkeys(PROXY_VARS, proxy.url))
    try:
        sidecar.wait_ready(READY_TIMEOUT)
        r = httpx.post(
            sidecar.url + "/v1/chat/completions",
            headers=sidecar.auth,
            json={"model": "demo", "messages": [{"role": "user", "content": "hi"}]},
            timeout=60,
            trust_env=False,
        )
        assert r.status_code == 200, r.text
        assert r.json()["choices"][0]["message"]["content"] == "offline hello"
    finally:
        sidecar.stop()
    assert proxy.targets == [], f"the sidecar tried to reach the internet: {proxy.targets}"
