"""Tool-call arguments nested absurdly deep (issue 11): a raw RecursionError escaped Agent.call
with no dialog and no error report. They must become an error result the model reads, as
invalid JSON does, whether they come over the wire or from a scripted model."""

from __future__ import annotations

from typing import Any

from lllm_adapters.openai import OpenAICaller, OpenAISettings
from lllm_adapters.openai.reply import decode_arguments
from lllm_domain.agent import Agent
from lllm_domain.function import Function
from lllm_domain.message import MAX_ARGUMENT_DEPTH, FunctionCall, Role
from lllm_domain.prompt import Prompt
from lllm_domain.testing import FakeClock, ScriptedCaller, call, tool_calls

from tests.support.openai_server import OpenAIServer, chat_completion, openai_server

__all__ = ["openai_server"]

DEPTH = 10_000
TOO_DEEP = f"they nest deeper than {MAX_ARGUMENT_DEPTH} levels"


def deep_json(depth: int) -> str:
    return '{"city": ' + "[" * depth + "]" * depth + "}"


def deep_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def get_weather(city: Any) -> str:
    """The weather in a city.

    Args:
        city: The city name.
    """
    return f"sunny in {city}"


SYSTEM = Prompt("test/system", "You are a weather assistant.")
TASK = Prompt("test/task", "Weather in {city}?", functions=(Function.from_callable(get_weather),))


def test_the_adapter_turns_deep_arguments_into_an_arguments_error() -> None:
    raw = deep_json(DEPTH)
    fc = decode_arguments("c1", "get_weather", raw)
    assert fc.arguments == {}
    assert fc.raw_arguments == raw
    assert fc.arguments_error == TOO_DEEP


def test_arguments_just_within_the_limit_decode() -> None:
    fc = decode_arguments("c1", "get_weather", deep_json(MAX_ARGUMENT_DEPTH - 1))
    assert fc.arguments_error is None
    assert decode_arguments("c1", "f", deep_json(MAX_ARGUMENT_DEPTH)).arguments_error == TOO_DEEP


def test_deep_arguments_over_the_wire_are_an_error_result_the_model_reads(
    openai_server: OpenAIServer,
) -> None:
    openai_server.script(
        chat_completion(None, tool_calls=[("call_1", "get_weather", deep_json(DEPTH))]),
        chat_completion("Sorry, let me try again later."),
    )
    settings = OpenAISettings(api_key="sk-test-0123456789", base_url=openai_server.url)
    with OpenAICaller(settings) as caller:
        agent = Agent("weather", SYSTEM, "gpt-4o", caller, clock=FakeClock())
        result = agent.call(agent.init_dialog(), TASK, {"city": "Paris"})
    (fc,) = result.function_calls
    assert (
        fc.error
        == f"the arguments for 'get_weather' are not usable: {TOO_DEEP}; send a flatter JSON object"
    )
    sent = openai_server.requests[1].json["messages"]
    assert sent[-1]["role"] == "tool"
    assert sent[-1]["content"] == f"Error: {fc.error}"
    assert result.content == "Sorry, let me try again later."


def test_deep_arguments_from_a_scripted_model_are_an_error_result_too() -> None:
    deep = FunctionCall("", "get_weather", {"city": deep_list(DEPTH)})
    again = FunctionCall("", "get_weather", {"city": deep_list(DEPTH)})
    caller = ScriptedCaller([tool_calls(deep), tool_calls(again), "done"])
    agent = Agent("weather", SYSTEM, "scripted", caller, clock=FakeClock())
    result = agent.call(agent.init_dialog(), TASK, {"city": "Paris"})
    first, second = result.function_calls
    assert first.arguments == {} and first.arguments_error == TOO_DEEP
    assert first.error is not None and TOO_DEEP in first.error
    assert second.error is not None and TOO_DEEP in second.error
    tool_messages = [m for m in result.dialog.messages if m.role is Role.TOOL]
    assert len(tool_messages) == 2
    assert all(TOO_DEEP in m.content for m in tool_messages)


def test_a_deep_value_is_checked_without_recursion() -> None:
    fc = FunctionCall("c", "f", {"a": {"b": deep_list(100_000)}})
    assert fc.arguments_error == TOO_DEEP
    assert FunctionCall("c", "f", {"a": deep_list(MAX_ARGUMENT_DEPTH - 1)}).arguments_error is None


def test_the_scripted_call_builder_accepts_deep_arguments() -> None:
    fc = call("get_weather", city=deep_list(DEPTH))
    assert fc.arguments_error == TOO_DEEP
    assert fc.raw_arguments is None
