"""Fixtures for tests that run the real LiteLLM proxy as a sidecar (about 10 s per start).

Each module shares one stand-in LLM and, where its tests allow, one sidecar.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.sidecar import Sidecar, chat_model, mock_model, write_effective_config
from tests.sidecar.common import DEMO_MODEL, INTERNAL_MODEL, OPEN_MODEL, fresh_token, start
from tests.standins.llm import StandInLLM


@pytest.fixture(scope="module")
def llm() -> Iterator[StandInLLM]:
    with StandInLLM(open_models=(OPEN_MODEL,)) as server:
        yield server


@pytest.fixture(scope="module")
def config_path(tmp_path_factory: pytest.TempPathFactory, llm: StandInLLM) -> Path:
    directory = tmp_path_factory.mktemp("sidecar")
    models = [
        chat_model(INTERNAL_MODEL, llm.url + "/v1"),
        mock_model(DEMO_MODEL),
        chat_model(OPEN_MODEL, llm.url + "/v1"),
    ]
    return write_effective_config(directory, models)


@pytest.fixture(scope="module")
def sidecar(config_path: Path) -> Iterator[Sidecar]:
    """One ready sidecar per module, holding a valid token."""
    running = start(config_path)
    running.send_token(*fresh_token())
    yield running
    running.stop()
