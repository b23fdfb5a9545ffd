"""Fixtures for the Anthropic adapter integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lllm_adapters.anthropic import AnthropicCaller, AnthropicSettings, AsyncAnthropicCaller

from tests.support.anthropic_server import AnthropicServer, anthropic_server
from tests.support.caller_fixtures import CallFn, call_through, local_settings

__all__ = ["anthropic_server"]

TEST_KEY = "sk-ant-test-SECRET-never-shown-0123456789"


def settings_for(server: AnthropicServer, **overrides: object) -> AnthropicSettings:
    """Settings pointing at the local server, with short timeouts."""
    return local_settings(AnthropicSettings, server.url, TEST_KEY, **overrides)


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, anthropic_server: AnthropicServer) -> Iterator[CallFn]:
    """Send one request through the sync or the async caller (both are tested)."""
    settings = settings_for(anthropic_server)
    yield from call_through(
        request.param, lambda: AnthropicCaller(settings), lambda: AsyncAnthropicCaller(settings)
    )
