"""Streaming and injected faults on the Messages API: each ends in a reply or the same typed
error the OpenAI callers raise, with the same retry policy."""

from __future__ import annotations

import socket

import pytest
from lllm_adapters.anthropic import AnthropicCaller
from lllm_adapters.openai import (
    APIConnectionError,
    APIStatusError,
    InvalidResponseError,
    RateLimitError,
    RetryDelayTooLongError,
    StreamInterruptedError,
)
from lllm_domain.function import Function
from lllm_domain.message import Role, user_message
from lllm_domain.request import LLMRequest

from tests.integration.anthropic.conftest import TEST_KEY, CallFn, settings_for
from tests.support.anthropic_server import (
    AnthropicServer,
    Reply,
    anthropic_error,
    message,
    message_stream_events,
    overloaded,
    rate_limited,
)

WEATHER = Function("get_weather", "", {"city": {"type": "string"}}, ("city",))


def ask(**kwargs: object) -> LLMRequest:
    return LLMRequest((user_message("hi"),), "claude-haiku-4-5", **kwargs)  # type: ignore[arg-type]


def test_streamed_reply_equals_the_whole_reply(
    call: CallFn, anthropic_server: AnthropicServer
) -> None:
    reply = message(
        "Hello there, friend!",
        thinking=[{"type": "thinking", "thinking": "Greet them.", "signature": "s1"}],
        tool_uses=[("t1", "get_weather", {"city": "Oslo"}), ("t2", "get_weather", {})],
        usage=(12, 6, 4, 8),
    )
    anthropic_server.script(reply, reply)
    whole = call(ask(tools=(WEATHER,)))
    deltas: list[str] = []
    streamed = call(ask(tools=(WEATHER,), on_delta=deltas.append))
    assert len(deltas) > 1 and "".join(deltas) == "Hello there, friend!"
    assert streamed == whole
    assert streamed.role is Role.TOOL_CALL
    assert [dict(c.arguments) for c in streamed.function_calls] == [{"city": "Oslo"}, {}]
    assert anthropic_server.requests[1].json["stream"] is True


def test_529_overloaded_is_retryable_and_names_the_error_type(
    call: CallFn, anthropic_server: AnthropicServer
) -> None:
    anthropic_server.script(overloaded())
    with pytest.raises(APIStatusError) as info:
        call(ask())
    err = info.value
    assert (err.retryable, err.status, err.code) == (True, 529, "overloaded_error")
    assert "overloaded_error: Overloaded" in str(err) and "req_test" in str(err)


def test_429_with_retry_after(call: CallFn, anthropic_server: AnthropicServer) -> None:
    anthropic_server.script(rate_limited("7"))
    with pytest.raises(RateLimitError) as info:
        call(ask())
    assert (info.value.retryable, info.value.retry_after, info.value.code) == (
        True,
        7.0,
        "rate_limit_error",
    )


def test_a_long_retry_after_fails_instead_of_sleeping(
    call: CallFn, anthropic_server: AnthropicServer
) -> None:
    anthropic_server.script(rate_limited("3600"))
    with pytest.raises(RetryDelayTooLongError) as info:
        call(ask())
    assert info.value.retryable is False and info.value.retry_after == 3600


@pytest.mark.parametrize(
    ("status", "header", "retryable"),
    [(500, None, True), (500, "false", False), (400, "true", True), (400, None, False)],
)
def test_x_should_retry_overrides_the_status(
    call: CallFn,
    anthropic_server: AnthropicServer,
    status: int,
    header: str | None,
    retryable: bool,
) -> None:
    headers = {} if header is None else {"x-should-retry": header}
    anthropic_server.script(anthropic_error(status, "nope", headers=headers))
    with pytest.raises(APIStatusError) as info:
        call(ask())
    assert info.value.retryable is retryable


def test_401_names_the_variable_and_never_the_key(
    call: CallFn, anthropic_server: AnthropicServer
) -> None:
    anthropic_server.script(anthropic_error(401, "invalid x-api-key", type="authentication_error"))
    with pytest.raises(APIStatusError) as info:
        call(ask())
    text = str(info.value)
    assert "authentication_error: invalid x-api-key" in text and "ANTHROPIC_API_KEY" in text
    assert TEST_KEY not in text and TEST_KEY not in repr(info.value.describe())


def test_a_reset_mid_body_is_a_retryable_connection_error(
    call: CallFn, anthropic_server: AnthropicServer
) -> None:
    anthropic_server.script(Reply(message("hello"), reset_mid_body=True))
    with pytest.raises(APIConnectionError) as info:
        call(ask())
    assert info.value.retryable is True


def test_a_body_that_is_not_a_message_is_retryable(
    call: CallFn, anthropic_server: AnthropicServer
) -> None:
    anthropic_server.script(Reply(raw=b'{"type": "message", "content": [{"type": '))
    with pytest.raises(InvalidResponseError) as info:
        call(ask())
    assert info.value.retryable is True


def test_a_stream_cut_before_any_text_is_retryable(
    call: CallFn, anthropic_server: AnthropicServer
) -> None:
    anthropic_server.script(Reply(message("hello"), truncate_after=2))
    with pytest.raises(InvalidResponseError) as info:
        call(ask(on_delta=lambda _: None))
    assert info.value.retryable is True and info.value.code == "stream_truncated"


def test_a_stream_broken_after_text_was_shown_is_not_replayed(
    call: CallFn, anthropic_server: AnthropicServer
) -> None:
    events = message_stream_events(message("one two three four five six"))
    anthropic_server.script(Reply(sse=events, reset_after=5))
    shown: list[str] = []
    with pytest.raises(StreamInterruptedError) as info:
        call(ask(on_delta=shown.append))
    assert info.value.retryable is False
    assert info.value.partial_text == "".join(shown) != ""


def test_an_error_event_mid_stream(call: CallFn, anthropic_server: AnthropicServer) -> None:
    events = [
        *message_stream_events(message("hi"))[:2],
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    ]
    anthropic_server.script(Reply(sse=events))
    with pytest.raises(InvalidResponseError) as info:
        call(ask(on_delta=lambda _: None))
    assert info.value.retryable is True and info.value.code == "overloaded_error"
    assert "Overloaded" in str(info.value)


def test_a_dead_endpoint_fails_fast_naming_the_variable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = settings_for(AnthropicServer(port=port), connect_retries=1)
    with AnthropicCaller(settings) as caller:
        req = ask()
        with pytest.raises(APIConnectionError) as first:
            caller.call(req)
        with pytest.raises(APIConnectionError) as second:
            caller.call(req)
    assert first.value.retryable is True
    assert second.value.retryable is False and "ANTHROPIC_BASE_URL" in str(second.value)
