"""The Anthropic callers against a real Messages API server on 127.0.0.1: what they send and
what they make of the replies, whole and streamed, sync and async."""

from __future__ import annotations

import pytest
from lllm_adapters.anthropic import AnthropicCaller
from lllm_adapters.openai import ModelCatalog, OutputTruncatedError, RefusalError
from lllm_domain.function import Function
from lllm_domain.message import (
    TOOL_ERROR_EXTRA,
    FunctionCall,
    Image,
    Message,
    Role,
    assistant_message,
    system_message,
    user_message,
)
from lllm_domain.request import LLMRequest
from lllm_domain.usage import Usage

from tests.integration.anthropic.conftest import TEST_KEY, CallFn, settings_for
from tests.support.anthropic_server import AnthropicServer, message

WEATHER = Function("get_weather", "The weather", {"city": {"type": "string"}}, ("city",))
TIME = Function("get_time", "The time", {"city": {"type": "string"}}, ("city",))
MODEL = "claude-sonnet-4-5"


def request(*messages: Message, **kwargs: object) -> LLMRequest:
    return LLMRequest(messages or (user_message("hi"),), MODEL, agent_name="agent", **kwargs)  # type: ignore[arg-type]


@pytest.fixture(params=["json", "sse"])
def stream(request: pytest.FixtureRequest) -> bool:
    """Each reply test runs on a whole reply and on the same reply streamed."""
    return request.param == "sse"


def send(call: CallFn, req: LLMRequest, stream: bool) -> tuple[Message, list[str]]:
    deltas: list[str] = []
    if stream:
        from attrs import evolve

        req = evolve(req, on_delta=deltas.append)
    return call(req), deltas


def test_text_reply_headers_and_body(
    call: CallFn, anthropic_server: AnthropicServer, stream: bool
) -> None:
    anthropic_server.script(message("Hello there", usage=(12, 3, 0, 0)))
    reply, deltas = send(call, request(system_message("Be brief."), user_message("hi")), stream)
    assert (reply.role, reply.content, reply.model) == (
        Role.ASSISTANT,
        "Hello there",
        "claude-sonnet-4-5-20250929",
    )
    assert reply.usage == Usage(12, 3)
    assert reply.extra["stop_reason"] == "end_turn"
    assert "".join(deltas) == ("Hello there" if stream else "")
    sent = anthropic_server.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == TEST_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    body = sent.json
    assert body["model"] == "claude-sonnet-4-5-20250929"
    assert body["system"] == [{"type": "text", "text": "Be brief."}]
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert body["max_tokens"] == 8192
    assert body.get("stream", False) is stream


def test_parallel_tool_calls_and_their_results(
    call: CallFn, anthropic_server: AnthropicServer, stream: bool
) -> None:
    anthropic_server.script(
        message(
            "Let me look.",
            tool_uses=[
                ("toolu_1", "get_weather", {"city": "Oslo"}),
                ("toolu_2", "get_time", {"city": "Oslo"}),
            ],
        ),
        message("Cold, and late."),
    )
    first, _ = send(call, request(tools=(WEATHER, TIME)), stream)
    assert first.role is Role.TOOL_CALL and first.content == "Let me look."
    assert [(c.id, c.name, dict(c.arguments)) for c in first.function_calls] == [
        ("toolu_1", "get_weather", {"city": "Oslo"}),
        ("toolu_2", "get_time", {"city": "Oslo"}),
    ]
    results = (
        Message(Role.TOOL, "-3 C", "function", tool_call_id="toolu_1"),
        Message(
            Role.TOOL, "Error: no clock", "function", tool_call_id="toolu_2", extra=TOOL_ERROR_EXTRA
        ),
    )
    second, _ = send(
        call, request(user_message("hi"), first, *results, tools=(WEATHER, TIME)), stream
    )
    assert second.content == "Cold, and late."
    body = anthropic_server.requests[1].json
    assert body["tools"][0] == {
        "name": "get_weather",
        "description": "The weather",
        "input_schema": WEATHER.json_schema(),
    }
    assistant, answer = body["messages"][1:]
    assert [b["type"] for b in assistant["content"]] == ["text", "tool_use", "tool_use"]
    assert answer == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3 C"},
            {
                "type": "tool_result",
                "tool_use_id": "toolu_2",
                "content": "Error: no clock",
                "is_error": True,
            },
        ],
    }


THINKING = {"type": "thinking", "thinking": "The user wants Oslo.", "signature": "sig-abc"}
REDACTED = {"type": "redacted_thinking", "data": "ENCRYPTED"}


def test_thinking_blocks_are_kept_and_sent_back_with_tool_use(
    call: CallFn, anthropic_server: AnthropicServer, stream: bool
) -> None:
    # With thinking on, the server (like the API) refuses a tool-use turn sent back without
    # its thinking blocks: the second request only passes if they were kept exactly.
    anthropic_server.script(
        message(
            None,
            thinking=[THINKING, REDACTED],
            tool_uses=[("toolu_1", "get_weather", {"city": "Oslo"})],
        ),
        message("Cold."),
    )
    args = {"thinking": {"type": "enabled", "budget_tokens": 2048}, "temperature": 0.2}
    first, _ = send(call, request(tools=(WEATHER,), model_args=args), stream)
    assert first.extra["thinking"] == (THINKING, REDACTED)
    result = Message(Role.TOOL, "-3 C", "function", tool_call_id="toolu_1")
    second, _ = send(
        call, request(user_message("hi"), first, result, tools=(WEATHER,), model_args=args), stream
    )
    assert second.content == "Cold."
    body = anthropic_server.requests[1].json
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert "temperature" not in body  # thinking does not combine with a changed temperature
    assert body["max_tokens"] == 2048 + 8192
    assert body["messages"][1]["content"][:2] == [THINKING, REDACTED]


def test_images_go_as_base64_blocks(call: CallFn, anthropic_server: AnthropicServer) -> None:
    anthropic_server.script(message("A cat."))
    picture = Message(Role.USER, "What is this?", "user", image=Image("aGVsbG8=", "image/jpeg"))
    call(request(picture))
    assert anthropic_server.requests[0].json["messages"][0]["content"] == [
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/jpeg", "data": "aGVsbG8="},
        },
        {"type": "text", "text": "What is this?"},
    ]


def test_prompt_caching_marks_and_prices_cache_writes_and_reads(
    call: CallFn, anthropic_server: AnthropicServer, stream: bool
) -> None:
    anthropic_server.script(message("ok", usage=(100, 10, 2000, 30000)))
    args = {"cache_control": ["system", "messages"], "cache_ttl": "1h"}
    reply, _ = send(
        call, request(system_message("Long rules"), user_message("hi"), model_args=args), stream
    )
    body = anthropic_server.requests[0].json
    mark = {"type": "ephemeral", "ttl": "1h"}
    assert body["system"][-1]["cache_control"] == mark
    assert body["messages"][-1]["content"][-1]["cache_control"] == mark
    assert reply.usage == Usage(
        input_tokens=32100, output_tokens=10, cached_input_tokens=30000, cache_write_tokens=2000
    )
    # claude-sonnet-4-5: $3 input, $3.75 cache writes, $0.30 cache reads, $15 output per MTok.
    assert reply.cost is not None
    assert reply.cost.input_usd == pytest.approx(100 * 3 / 1e6)
    assert reply.cost.cache_write_usd == pytest.approx(2000 * 3.75 / 1e6)
    assert reply.cost.cached_input_usd == pytest.approx(30000 * 0.30 / 1e6)
    assert reply.cost.output_usd == pytest.approx(10 * 15 / 1e6)


def test_one_hour_cache_writes_are_priced_as_such(
    call: CallFn, anthropic_server: AnthropicServer
) -> None:
    body = message("ok", usage=(0, 0, 1000, 0))
    body["usage"]["cache_creation"] = {
        "ephemeral_5m_input_tokens": 400,
        "ephemeral_1h_input_tokens": 600,
    }
    anthropic_server.script(body)
    reply = call(request())
    assert reply.usage is not None and reply.usage.cache_write_1h_tokens == 600
    assert reply.cost is not None
    assert reply.cost.cache_write_usd == pytest.approx((400 * 3.75 + 600 * 6.0) / 1e6)


def test_max_tokens_is_a_typed_truncation_error(
    call: CallFn, anthropic_server: AnthropicServer, stream: bool
) -> None:
    anthropic_server.script(
        message("The answer is", stop_reason="max_tokens", usage=(10, 64, 0, 0))
    )
    with pytest.raises(OutputTruncatedError) as info:
        send(call, request(model_args={"max_tokens": 64}), stream)
    assert "max_tokens" in str(info.value)
    assert info.value.retryable is False
    assert info.value.partial is not None and info.value.partial.content == "The answer is"
    assert info.value.partial.usage == Usage(10, 64)
    assert anthropic_server.requests[0].json["max_tokens"] == 64


def test_refusal_stop_reason(call: CallFn, anthropic_server: AnthropicServer) -> None:
    anthropic_server.script(message("", stop_reason="refusal"))
    with pytest.raises(RefusalError):
        call(request())


def test_the_key_never_goes_to_another_host(anthropic_server: AnthropicServer) -> None:
    with AnthropicServer() as other:
        other.script(message("from the other host"))
        catalog = ModelCatalog.builtin().extended(
            {"gateway-claude": {"provider": "anthropic", "base_url": other.url}}
        )
        with AnthropicCaller(settings_for(anthropic_server), catalog) as caller:
            reply = caller.call(LLMRequest((user_message("hi"),), "gateway-claude"))
        assert reply.content == "from the other host"
        assert "x-api-key" not in other.requests[0].headers
    assert not anthropic_server.requests


def test_a_dialog_reloaded_with_an_argument_error_is_still_sent(
    call: CallFn, anthropic_server: AnthropicServer
) -> None:
    anthropic_server.script(message("fine"))
    broken = FunctionCall("toolu_9", "get_weather", raw_arguments="{oops", arguments_error="bad")
    turn = Message(Role.TOOL_CALL, "", "agent", function_calls=(broken,))
    result = Message(Role.TOOL, "Error: bad arguments", "function", tool_call_id="toolu_9")
    call(request(user_message("hi"), turn, result, assistant_message("noted"), user_message("go")))
    sent = anthropic_server.requests[0].json["messages"]
    assert sent[1]["content"] == [
        {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {}}
    ]
