"""Streaming and injected faults: each ends in a reply or the right typed error."""

from __future__ import annotations

import email.utils
import time

import pytest
from lllm_adapters.openai import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncOpenAICaller,
    InvalidResponseError,
    OpenAICaller,
    RateLimitError,
    RetryDelayTooLongError,
    StreamInterruptedError,
)
from lllm_domain.errors import LLMAPIError
from lllm_domain.function import Function
from lllm_domain.message import Role, user_message
from lllm_domain.request import LLMRequest

from tests.integration.openai.conftest import TEST_KEY, CallFn, settings_for
from tests.support.openai_server import (
    OpenAIServer,
    Reply,
    chat_completion,
    chat_stream_events,
    error_reply,
    invalid_json,
    rate_limited,
)

WEATHER = Function("get_weather", "", {"city": {"type": "string"}}, ("city",))


def ask(**kwargs: object) -> LLMRequest:
    return LLMRequest((user_message("hi"),), "gpt-4o", **kwargs)  # type: ignore[arg-type]


def test_streamed_text_equals_the_whole_reply(call: CallFn, openai_server: OpenAIServer) -> None:
    reply = chat_completion("Hello there, friend!", usage=(12, 6, 4, 0))
    openai_server.script(reply, reply)
    whole = call(ask())
    deltas: list[str] = []
    streamed = call(ask(on_delta=deltas.append))
    assert len(deltas) > 1 and "".join(deltas) == "Hello there, friend!"
    assert streamed == whole
    body = openai_server.requests[1].json
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_streamed_tool_calls_are_assembled(call: CallFn, openai_server: OpenAIServer) -> None:
    reply = chat_completion(
        None,
        tool_calls=[
            ("c1", "get_weather", '{"city": "Oslo"}'),
            ("c2", "get_weather", '{"city": "Rome"}'),
        ],
    )
    openai_server.script(reply, reply)
    whole = call(ask(tools=(WEATHER,)))
    streamed = call(ask(tools=(WEATHER,), on_delta=lambda _: None))
    assert streamed == whole
    assert streamed.role is Role.TOOL_CALL
    assert [dict(c.arguments) for c in streamed.function_calls] == [
        {"city": "Oslo"},
        {"city": "Rome"},
    ]


def test_429_with_retry_after_seconds(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(rate_limited("7"))
    with pytest.raises(RateLimitError) as info:
        call(ask())
    err = info.value
    assert (err.retryable, err.status, err.retry_after) == (True, 429, 7.0)
    assert "Rate limit reached" in str(err)


def test_retry_after_ms_wins(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(error_reply(429, headers={"retry-after-ms": "250", "retry-after": "9"}))
    with pytest.raises(RateLimitError) as info:
        call(ask())
    assert info.value.retry_after == pytest.approx(0.25)


def test_retry_after_as_an_http_date(call: CallFn, openai_server: OpenAIServer) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    openai_server.script(rate_limited(when))
    with pytest.raises(RateLimitError) as info:
        call(ask())
    assert info.value.retry_after is not None and 25 <= info.value.retry_after <= 31


def test_delay_above_the_cap_fails_naming_the_delay(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    openai_server.script(rate_limited("3600"))
    with pytest.raises(RetryDelayTooLongError) as info:
        call(ask())
    assert info.value.retryable is False and info.value.retry_after == 3600
    assert "3600 s" in str(info.value)


@pytest.mark.parametrize("status", [408, 409, 500, 502, 503])
def test_retryable_statuses(call: CallFn, openai_server: OpenAIServer, status: int) -> None:
    openai_server.script(error_reply(status, "upstream trouble"))
    with pytest.raises(APIStatusError) as info:
        call(ask())
    assert info.value.retryable is True and info.value.status == status
    assert "upstream trouble" in str(info.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_final_statuses_carry_the_api_text(
    call: CallFn, openai_server: OpenAIServer, status: int
) -> None:
    openai_server.script(error_reply(status, "Invalid value for 'messages'", code="bad_req"))
    with pytest.raises(APIStatusError) as info:
        call(ask())
    err = info.value
    assert err.retryable is False and err.status == status and err.code == "bad_req"
    assert "Invalid value for 'messages'" in str(err)
    assert TEST_KEY not in str(err) and TEST_KEY not in repr(err.describe())


def test_x_should_retry_overrides_the_status(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(
        error_reply(500, headers={"x-should-retry": "false"}),
        error_reply(400, headers={"x-should-retry": "true"}),
    )
    with pytest.raises(APIStatusError) as first:
        call(ask())
    with pytest.raises(APIStatusError) as second:
        call(ask())
    assert first.value.retryable is False and second.value.retryable is True


def test_connection_reset_mid_body(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(
        Reply(chat_completion("x" * 2000), reset_mid_body=True), chat_completion("recovered")
    )
    with pytest.raises(APIConnectionError) as info:
        call(ask())
    assert info.value.retryable is True
    assert call(ask()).content == "recovered"  # the pool recovers from the dead connection


def test_read_timeout(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply(chat_completion("late"), delay=1.0))
    with (
        OpenAICaller(settings_for(openai_server, read_timeout=0.2)) as caller,
        pytest.raises(APITimeoutError) as info,
    ):
        caller.call(ask())
    assert info.value.retryable is True


def test_total_timeout_bounds_the_whole_request(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply(chat_completion("late"), delay=1.5))
    settings = settings_for(openai_server, read_timeout=10.0, total_timeout=0.3)
    started = time.monotonic()
    with OpenAICaller(settings) as caller, pytest.raises(APITimeoutError) as info:
        caller.call(ask())
    assert time.monotonic() - started < 1.2  # the 10 s read timeout did not decide
    assert info.value.retryable is True


async def test_total_timeout_bounds_the_whole_async_request(openai_server: OpenAIServer) -> None:
    openai_server.script(Reply(chat_completion("late"), delay=1.5))
    settings = settings_for(openai_server, read_timeout=10.0, total_timeout=0.3)
    async with AsyncOpenAICaller(settings) as caller:
        with pytest.raises(APITimeoutError):
            await caller.acall(ask())


def test_one_caller_reuses_one_pooled_connection(openai_server: OpenAIServer) -> None:
    openai_server.script(*(chat_completion(f"reply {i}") for i in range(5)))
    with OpenAICaller(settings_for(openai_server)) as caller:
        replies = [caller.call(ask()).content for _ in range(5)]
    assert replies == [f"reply {i}" for i in range(5)]
    assert openai_server.connections == 1


async def test_one_async_caller_reuses_one_pooled_connection(openai_server: OpenAIServer) -> None:
    openai_server.script(*(chat_completion(f"reply {i}") for i in range(5)))
    async with AsyncOpenAICaller(settings_for(openai_server)) as caller:
        replies = [(await caller.acall(ask())).content for _ in range(5)]
    assert replies == [f"reply {i}" for i in range(5)]
    assert openai_server.connections == 1


def test_settings_come_from_the_environment_and_hide_the_key() -> None:
    from lllm_adapters.openai import OpenAISettings

    env = {"OPENAI_API_KEY": "sk-env-key-123456789", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    settings = OpenAISettings.from_env(env)
    assert (settings.api_key, settings.base_url) == (env["OPENAI_API_KEY"], env["OPENAI_BASE_URL"])
    assert "sk-env-key" not in repr(settings)
    default = OpenAISettings.from_env({"OPENAI_API_KEY": ""})
    assert default.api_key is None and default.base_url == "https://api.openai.com/v1"
    assert OpenAISettings.from_env(env, base_url="http://other/v1").base_url == "http://other/v1"


def test_invalid_json_body(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(invalid_json())
    with pytest.raises(InvalidResponseError) as info:
        call(ask())
    assert info.value.retryable is True


def test_truncated_stream_before_any_text_is_retryable(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    events = chat_stream_events(chat_completion(None, tool_calls=[("c", "get_weather", "{}")]))
    openai_server.script(Reply(sse=events, truncate_after=3))
    with pytest.raises(InvalidResponseError) as info:
        call(ask(on_delta=lambda _: None))
    assert info.value.retryable is True and info.value.code == "stream_truncated"


def test_truncated_stream_after_text_is_not_replayed(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    events = chat_stream_events(chat_completion("one two three four"))
    openai_server.script(Reply(sse=events, truncate_after=3))
    seen: list[str] = []
    with pytest.raises(StreamInterruptedError) as info:
        call(ask(on_delta=seen.append))
    assert info.value.retryable is False
    assert info.value.partial_text == "".join(seen) != ""


def test_stream_reset_mid_way(call: CallFn, openai_server: OpenAIServer) -> None:
    events = chat_stream_events(chat_completion("one two three four"))
    openai_server.script(Reply(sse=events, reset_after=1))
    with pytest.raises(LLMAPIError) as info:
        call(ask(on_delta=lambda _: None))
    assert info.value.retryable is True  # nothing reached the user yet


def test_error_status_on_a_streamed_request(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(rate_limited("1"))
    with pytest.raises(RateLimitError):
        call(ask(on_delta=lambda _: None))
