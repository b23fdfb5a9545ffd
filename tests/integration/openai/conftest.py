"""Fixtures for the OpenAI adapter integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from lllm_adapters.openai import AsyncOpenAICaller, OpenAICaller, OpenAISettings
from lllm_domain.message import Message
from lllm_domain.request import LLMRequest

from tests.support.openai_server import OpenAIServer, openai_server

__all__ = ["openai_server"]

TEST_KEY = "sk-test-SECRET-never-shown-0123456789"


def settings_for(server: OpenAIServer, **overrides: object) -> OpenAISettings:
    """Settings pointing at the local server, with short timeouts."""
    values: dict[str, object] = {
        "api_key": TEST_KEY,
        "base_url": server.url,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
    }
    values.update(overrides)
    return OpenAISettings(**values)  # type: ignore[arg-type]


CallFn = Callable[[LLMRequest], Message]


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, openai_server: OpenAIServer) -> Iterator[CallFn]:
    """Send one request through the sync or the async caller (both are tested)."""
    settings = settings_for(openai_server)
    if request.param == "sync":
        caller = OpenAICaller(settings)
        yield caller.call
        caller.close()
    else:
        acaller = AsyncOpenAICaller(settings)

        def run(req: LLMRequest) -> Message:
            return asyncio.run(acaller.acall(req))

        yield run
