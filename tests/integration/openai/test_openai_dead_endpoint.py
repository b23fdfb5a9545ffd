"""A dead endpoint (nothing listens: connection refused) fails fast: the request is retried
``OpenAISettings.connect_retries`` times (2, as the OpenAI SDK), then the error is not
retryable and names the URL, instead of six backoff sleeps (about 30 s) of silence."""

from __future__ import annotations

import asyncio
import socket

import attrs
import pytest
from lllm_adapters.openai import APIConnectionError, AsyncOpenAICaller, OpenAICaller
from lllm_adapters.openai.settings import OpenAISettings
from lllm_domain.agent import Agent
from lllm_domain.errors import AgentCallError, ConfigError, LLMRetriesExhaustedError
from lllm_domain.limits import CallLimits
from lllm_domain.message import user_message
from lllm_domain.prompt import Prompt
from lllm_domain.request import LLMRequest
from lllm_domain.testing import FakeClock

from tests.integration.openai.conftest import TEST_KEY


def dead_url() -> str:
    """A 127.0.0.1 URL where nothing listens (a port just bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_a_refused_connection_is_retryable_twice_then_not() -> None:
    url = dead_url()
    caller = OpenAICaller(OpenAISettings(api_key=TEST_KEY, base_url=url))
    request = LLMRequest((user_message("hi"),), "gpt-4o")
    errors = []
    for _ in range(3):
        with pytest.raises(APIConnectionError) as info:
            caller.call(request)
        errors.append(info.value)
    assert [e.retryable for e in errors] == [True, True, False]
    assert url in str(errors[-1]) and "nothing answers there" in str(errors[-1])
    assert "3 attempts" in str(errors[-1])
    # A copy of the request for the same turn (a wrapper teeing on_delta) shares the count.
    with pytest.raises(APIConnectionError) as info:
        caller.call(attrs.evolve(request, on_delta=lambda text: None))
    assert not info.value.retryable
    # Another request starts its own count.
    with pytest.raises(APIConnectionError) as info:
        caller.call(LLMRequest((user_message("again"),), "gpt-4o"))
    assert info.value.retryable


@pytest.mark.parametrize("driver", ["call", "acall"])
def test_an_agent_call_on_a_dead_endpoint_gives_up_after_two_retries(driver: str) -> None:
    settings = OpenAISettings(api_key=TEST_KEY, base_url=dead_url())
    caller = AsyncOpenAICaller(settings) if driver == "acall" else OpenAICaller(settings)
    clock = FakeClock()
    agent = Agent("a", Prompt("s", "hi"), model="gpt-4o", caller=caller, clock=clock)  # type: ignore[arg-type]
    dialog = agent.init_dialog()
    with pytest.raises(AgentCallError) as info:
        if driver == "acall":
            asyncio.run(agent.acall(dialog, Prompt("t", "go")))
        else:
            agent.call(dialog, Prompt("t", "go"))
    assert not isinstance(info.value, LLMRetriesExhaustedError)
    assert len(info.value.api_errors) == 3
    assert len(clock.sleeps) == 2
    assert "nothing answers there" in str(info.value)


def test_connect_retries_is_a_setting() -> None:
    caller = OpenAICaller(OpenAISettings(api_key=TEST_KEY, base_url=dead_url(), connect_retries=0))
    with pytest.raises(APIConnectionError) as info:
        caller.call(LLMRequest((user_message("hi"),), "gpt-4o"))
    assert not info.value.retryable
    with pytest.raises(ConfigError, match="connect_retries must be >= 0"):
        OpenAISettings(connect_retries=-1)


def test_the_retry_policy_still_governs_other_failures() -> None:
    # A policy allowing fewer retries than connect_retries wins (the machine decides).
    caller = OpenAICaller(OpenAISettings(api_key=TEST_KEY, base_url=dead_url()))
    from lllm_domain.limits import RetryPolicy

    clock = FakeClock()
    agent = Agent(
        "a",
        Prompt("s", "hi"),
        model="gpt-4o",
        caller=caller,
        clock=clock,
        limits=CallLimits(retry=RetryPolicy(max_attempts=1)),
    )
    with pytest.raises(LLMRetriesExhaustedError):
        agent.call(agent.init_dialog(), Prompt("t", "go"))
    assert len(clock.sleeps) == 1
