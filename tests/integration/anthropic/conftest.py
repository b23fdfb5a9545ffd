"""Fixtures for the Anthropic adapter integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from lllm_adapters.anthropic import AnthropicCaller, AnthropicSettings, AsyncAnthropicCaller
from lllm_domain.message import Message
from lllm_domain.request import LLMRequest

from tests.support.anthropic_server import AnthropicServer, anthropic_server

__all__ = ["anthropic_server"]

TEST_KEY = "sk-ant-test-SECRET-never-shown-0123456789"


def settings_for(server: AnthropicServer, **overrides: object) -> AnthropicSettings:
    """Settings pointing at the local server, with short timeouts."""
    values: dict[str, object] = {
        "api_key": TEST_KEY,
        "base_url": server.url,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
    }
    values.update(overrides)
    return AnthropicSettings(**values)  # type: ignore[arg-type]


CallFn = Callable[[LLMRequest], Message]


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, anthropic_server: AnthropicServer) -> Iterator[CallFn]:
    """Send one request through the sync or the async caller (both are tested)."""
    settings = settings_for(anthropic_server)
    if request.param == "sync":
        caller = AnthropicCaller(settings)
        yield caller.call
        caller.close()
    else:
        acaller = AsyncAnthropicCaller(settings)

        def run(req: LLMRequest) -> Message:
            return asyncio.run(acaller.acall(req))

        yield run
