"""The Responses API (api_type "response") against the local server."""

from __future__ import annotations

import pytest
from lllm_adapters.openai import OutputTruncatedError
from lllm_domain.errors import ConfigError
from lllm_domain.function import Function, MCPServer
from lllm_domain.message import FunctionCall, Message, Modality, Role, system_message, user_message
from lllm_domain.request import LLMRequest
from lllm_domain.usage import Usage

from tests.integration.openai.conftest import CallFn
from tests.support.openai_server import OpenAIServer, Reply, response_object

WEATHER = Function("get_weather", "Weather.", {"city": {"type": "string"}}, ("city",))


def ask(messages: tuple[Message, ...] | None = None, **kwargs: object) -> LLMRequest:
    return LLMRequest(
        messages or (system_message("sys"), user_message("hi")),
        "gpt-4o",
        api_type="response",
        **kwargs,  # type: ignore[arg-type]
    )


def test_text_reply_and_usage(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(response_object("Hi!", usage=(50, 10, 20, 3)))
    message = call(ask(model_args={"max_completion_tokens": 40}))
    assert message.content == "Hi!" and message.role is Role.ASSISTANT
    assert message.usage == Usage(50, 10, 20, 3)
    assert message.extra["response_id"] == "resp_1"
    req = openai_server.requests[0]
    assert req.path == "/v1/responses"
    assert req.json["input"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
    ]
    assert req.json["max_output_tokens"] == 40


def test_function_call_round_trip_items(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(
        response_object(None, tool_calls=[("call_1", "get_weather", '{"city": "Oslo"}')]),
        response_object("sunny in Oslo"),
    )
    first = call(ask(tools=(WEATHER,)))
    assert first.role is Role.TOOL_CALL
    [fc] = first.function_calls
    assert (fc.id, dict(fc.arguments)) == ("call_1", {"city": "Oslo"})
    result = Message(Role.TOOL, "sunny", "function", tool_call_id="call_1")
    second = call(ask((user_message("weather?"), first, result), tools=(WEATHER,)))
    assert second.content == "sunny in Oslo"
    body = openai_server.requests[1].json
    assert body["input"][1:] == [
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city": "Oslo"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
    ]
    assert body["tools"][0]["type"] == "function" and body["tools"][0]["name"] == "get_weather"


def test_hosted_tools_when_the_card_allows(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(
        response_object(
            "found it", hosted=[{"type": "web_search_call", "id": "ws_1", "status": "completed"}]
        )
    )
    mcp = MCPServer("deepwiki", "https://mcp.example/mcp", allowed_tools=("ask",))
    message = call(ask(allow_web_search=True, mcp_servers=(mcp,)))
    assert message.extra["hosted_calls"][0]["type"] == "web_search_call"
    tools = openai_server.requests[0].json["tools"]
    assert {"type": "web_search"} in tools
    assert mcp.to_tool() in tools


def test_hosted_tool_the_card_lacks_is_refused_before_sending(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    with pytest.raises(ConfigError, match="computer use"):
        call(
            ask(
                computer_use={
                    "display_width": 1024,
                    "display_height": 768,
                    "environment": "browser",
                }
            )
        )
    assert openai_server.requests == []


def test_computer_use_on_the_computer_use_model(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(response_object("ok", model="computer-use-preview-2025-03-11"))
    config = {"display_width": 1024, "display_height": 768, "environment": "browser"}
    call(
        LLMRequest(
            (user_message("click"),),
            "computer-use-preview",
            api_type="response",
            computer_use=config,
        )
    )
    body = openai_server.requests[0].json
    assert body["tools"] == [{"type": "computer_use_preview", **config}]
    assert body["truncation"] == "auto"


def test_structured_output_format(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(response_object('{"a": 1}'))
    schema = {
        "title": "Thing",
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    call(ask(output_format=schema))
    fmt = openai_server.requests[0].json["text"]["format"]
    assert fmt["type"] == "json_schema" and fmt["name"] == "Thing" and fmt["strict"] is True


def test_streaming_equals_whole(call: CallFn, openai_server: OpenAIServer) -> None:
    reply = response_object("streamed words here")
    openai_server.script(reply, reply)
    whole = call(ask())
    deltas: list[str] = []
    streamed = call(ask(on_delta=deltas.append))
    assert "".join(deltas) == "streamed words here" and len(deltas) > 1
    assert streamed == whole


def test_truncated_responses_stream(call: CallFn, openai_server: OpenAIServer) -> None:
    from lllm_adapters.openai import InvalidResponseError

    openai_server.script(Reply(sse=[{"type": "response.created", "response": {}}]))
    with pytest.raises(InvalidResponseError):
        call(ask(on_delta=lambda _: None))


def test_incomplete_response_is_truncation(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(
        response_object("partial", status="incomplete", incomplete_reason="max_output_tokens")
    )
    with pytest.raises(OutputTruncatedError) as info:
        call(ask())
    assert info.value.partial is not None and info.value.partial.content == "partial"


def test_reloaded_tool_call_without_raw_arguments(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    openai_server.script(response_object("ok"))
    turn = Message(
        Role.TOOL_CALL,
        "",
        "a",
        Modality.FUNCTION_CALL,
        (FunctionCall("c1", "get_weather", {"city": "Rome"}),),
    )
    call(ask((user_message("q"), turn, Message(Role.TOOL, "rain", "function", tool_call_id="c1"))))
    item = openai_server.requests[0].json["input"][1]
    assert item["arguments"] == '{"city":"Rome"}'
