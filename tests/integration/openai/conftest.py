"""Fixtures for the OpenAI adapter integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lllm_adapters.openai import AsyncOpenAICaller, OpenAICaller, OpenAISettings

from tests.support.caller_fixtures import CallFn, call_through, local_settings
from tests.support.openai_server import OpenAIServer, openai_server

__all__ = ["openai_server"]

TEST_KEY = "sk-test-SECRET-never-shown-0123456789"


def settings_for(server: OpenAIServer, **overrides: object) -> OpenAISettings:
    """Settings pointing at the local server, with short timeouts."""
    return local_settings(OpenAISettings, server.url, TEST_KEY, **overrides)


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, openai_server: OpenAIServer) -> Iterator[CallFn]:
    """Send one request through the sync or the async caller (both are tested)."""
    settings = settings_for(openai_server)
    yield from call_through(
        request.param, lambda: OpenAICaller(settings), lambda: AsyncOpenAICaller(settings)
    )
