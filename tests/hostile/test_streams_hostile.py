"""Streams and bodies that are not complete answers, against the real fake OpenAI server.

Each case must end in a typed error (never a "successful" half answer): a stream that says
``[DONE]`` without a ``finish_reason``, a stream or body without choices, a Responses stream
without ``response.completed``, usage that is no token count, and a stream that goes silent
(which must at least say so in the log while it waits).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from lllm_adapters.openai import (
    AsyncOpenAICaller,
    InvalidResponseError,
    OpenAICaller,
    OpenAISettings,
    StreamInterruptedError,
)
from lllm_domain.agent import Agent
from lllm_domain.errors import AgentCallError
from lllm_domain.message import Message, user_message
from lllm_domain.prompt import Prompt
from lllm_domain.request import LLMRequest
from lllm_domain.testing import FakeClock

from tests.support.openai_server import (
    OpenAIServer,
    Pause,
    Reply,
    chat_completion,
    chat_stream_events,
    openai_server,
    response_object,
    response_stream_events,
)

__all__ = ["openai_server"]

KEY = "sk-test-hostile-streams-0123456789"
CallFn = Callable[[LLMRequest], Message]


def settings(server: OpenAIServer, **overrides: Any) -> OpenAISettings:
    values: dict[str, Any] = {
        "api_key": KEY,
        "base_url": server.url,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
    }
    values.update(overrides)
    return OpenAISettings(**values)


def caller_fn(
    kind: str, server: OpenAIServer, **overrides: Any
) -> tuple[CallFn, Callable[[], None]]:
    if kind == "sync":
        caller = OpenAICaller(settings(server, **overrides))
        return caller.call, caller.close
    acaller = AsyncOpenAICaller(settings(server, **overrides))

    def run(request: LLMRequest) -> Message:
        return asyncio.run(acaller.acall(request))

    return run, lambda: None


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest, openai_server: OpenAIServer) -> Iterator[CallFn]:
    """One request through the sync or the async caller (both are tested)."""
    fn, close = caller_fn(request.param, openai_server)
    yield fn
    close()


def ask(api_type: str = "completion", **kwargs: Any) -> LLMRequest:
    return LLMRequest((user_message("What is 2 + 2?"),), "gpt-4o", api_type=api_type, **kwargs)


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-h",
        "object": "chat.completion.chunk",
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def no_finish_reason(events: list[Any]) -> list[Any]:
    """``events`` with every ``finish_reason`` blanked (the rest, ``[DONE]`` included, kept)."""
    out: list[Any] = []
    for event in events:
        if isinstance(event, dict) and event.get("choices"):
            choices = [{**c, "finish_reason": None} for c in event["choices"]]
            out.append({**event, "choices": choices})
        else:
            out.append(event)
    return out


# -- 1. streams that end with [DONE] but are not complete ------------------------------------


def test_done_without_finish_reason_after_text_is_an_interrupted_stream(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    events = no_finish_reason(chat_stream_events(chat_completion("The answer is 4")))
    assert events[-1] == "[DONE]"
    openai_server.script(Reply(sse=events))
    seen: list[str] = []
    with pytest.raises(StreamInterruptedError) as info:
        call(ask(on_delta=seen.append))
    error = info.value
    assert error.retryable is False  # text reached the user: never replayed silently
    assert error.partial_text == "".join(seen) == "The answer is 4"
    assert "finish_reason" in str(error) and openai_server.url in str(error)


def test_done_without_finish_reason_before_any_text_is_retryable(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    completion = chat_completion(None, tool_calls=[("c1", "get_weather", '{"city": "Oslo"}')])
    openai_server.script(Reply(sse=no_finish_reason(chat_stream_events(completion))))
    with pytest.raises(InvalidResponseError) as info:
        call(ask(on_delta=lambda _: None))
    assert info.value.retryable is True
    assert info.value.code == "stream_incomplete"
    assert "finish_reason" in str(info.value)


def test_stream_with_empty_choices_is_not_an_answer(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    base = {"id": "chatcmpl-h", "object": "chat.completion.chunk", "model": "gpt-4o"}
    usage = {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3}
    openai_server.script(
        Reply(sse=[{**base, "choices": []}, {**base, "choices": [], "usage": usage}, "[DONE]"])
    )
    with pytest.raises(InvalidResponseError) as info:
        call(ask(on_delta=lambda _: None))
    assert info.value.retryable is True  # nothing was shown
    assert "choices" in str(info.value)


def test_responses_stream_without_completed_event_after_text(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    events = response_stream_events(response_object("The answer is 4"))
    assert events[-1]["type"] == "response.completed"
    openai_server.script(Reply(sse=[*events[:-1], "[DONE]"]))
    seen: list[str] = []
    with pytest.raises(StreamInterruptedError) as info:
        call(ask("response", on_delta=seen.append))
    assert info.value.partial_text == "".join(seen) == "The answer is 4"
    assert "response.completed" in str(info.value)


def test_responses_completed_event_without_a_response_is_not_an_answer(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    openai_server.script(
        Reply(sse=[{"type": "response.created"}, {"type": "response.completed"}, "[DONE]"])
    )
    with pytest.raises(InvalidResponseError) as info:
        call(ask("response", on_delta=lambda _: None))
    assert info.value.retryable is True


# -- 2. choices: [] without streaming --------------------------------------------------------


def test_whole_completion_without_choices_is_not_retried(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    body = chat_completion("unused")
    body["choices"] = []
    openai_server.script(body)
    with pytest.raises(InvalidResponseError) as info:
        call(ask())
    error = info.value
    assert error.retryable is False and error.code == "no_choices"
    assert openai_server.url in str(error) and "max_llm_recall" in str(error)


def test_agent_does_not_spend_its_retry_budget_on_empty_choices(
    openai_server: OpenAIServer,
) -> None:
    body = chat_completion("unused")
    body["choices"] = []
    openai_server.handler = lambda request: body
    clock = FakeClock()
    with OpenAICaller(settings(openai_server)) as caller:
        agent = Agent("a", Prompt("s", "You add."), "gpt-4o", caller, clock=clock)
        with pytest.raises(AgentCallError):
            agent.call(agent.init_dialog(), Prompt("t", "2+2?"), {})
    # One request and no back-off: the default retry policy used to sleep ~30 s on this.
    assert len(openai_server.requests) == 1
    assert clock.sleeps == []


# -- 3. usage that is no token count ---------------------------------------------------------

BAD_USAGE = [(-5, "prompt_tokens"), (10**30, "prompt_tokens")]


@pytest.mark.parametrize(("value", "field"), BAD_USAGE)
def test_absurd_chat_usage_is_an_invalid_response(
    call: CallFn, openai_server: OpenAIServer, value: int, field: str
) -> None:
    body = chat_completion("4")
    body["usage"][field] = value
    openai_server.script(body)
    with pytest.raises(InvalidResponseError) as info:
        call(ask())
    message = str(info.value)
    assert f"usage.{field}" in message and openai_server.url in message
    assert info.value.code == "invalid_usage"


def test_absurd_usage_in_a_stream_is_an_invalid_response(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    body = chat_completion(None, tool_calls=[("c1", "f", "{}")])
    body["usage"]["completion_tokens"] = -1
    openai_server.script(body)
    with pytest.raises(InvalidResponseError) as info:
        call(ask(on_delta=lambda _: None))
    assert "usage.completion_tokens" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("output_tokens", -3),
        ("input_tokens", 10**30),
        ("input_tokens", "many"),
    ],
)
def test_absurd_responses_usage_is_an_invalid_response(
    call: CallFn, openai_server: OpenAIServer, field: str, value: object
) -> None:
    body = response_object("4")
    body["usage"][field] = value
    openai_server.script(body)
    with pytest.raises(InvalidResponseError) as info:
        call(ask("response"))
    assert f"usage.{field}" in str(info.value) and openai_server.url in str(info.value)


def test_nested_usage_details_are_checked_too(call: CallFn, openai_server: OpenAIServer) -> None:
    body = chat_completion("4")
    body["usage"]["prompt_tokens_details"]["cached_tokens"] = -7
    openai_server.script(body)
    with pytest.raises(InvalidResponseError) as info:
        call(ask())
    assert "usage.prompt_tokens_details.cached_tokens" in str(info.value)


# -- 4. a silent stream says so while it waits ----------------------------------------------


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_silent_stream_logs_a_warning_while_waiting(
    openai_server: OpenAIServer, kind: str
) -> None:
    events = chat_stream_events(chat_completion("four"))
    openai_server.script(Reply(sse=[events[0], Pause(1.0), *events[1:]]))
    fn, close = caller_fn(kind, openai_server, stream_silence_warning=0.2)
    try:
        with structlog.testing.capture_logs() as logs:
            message = fn(ask(on_delta=lambda _: None))
    finally:
        close()
    assert message.content == "four"  # the warning does not end the stream
    silent = [entry for entry in logs if entry["event"] == "openai.stream_silent"]
    assert silent, logs
    first = silent[0]
    assert first["log_level"] == "warning"
    assert openai_server.url in first["endpoint"]
    assert first["silent_for"] >= 0.2 and first["read_timeout"] == 5.0
    assert KEY not in repr(logs)


def test_a_stream_that_keeps_talking_logs_no_warning(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    openai_server.script(chat_completion("four"))
    with structlog.testing.capture_logs() as logs:
        call(ask(on_delta=lambda _: None))
    assert not [entry for entry in logs if entry["event"] == "openai.stream_silent"]


def test_the_silence_warning_can_be_turned_off() -> None:
    assert OpenAISettings().stream_silence_warning == 60.0
    assert OpenAISettings(stream_silence_warning=None).stream_silence_warning is None


def test_a_silence_warning_of_zero_seconds_is_refused() -> None:
    from lllm_domain.errors import ConfigError

    with pytest.raises(ConfigError, match="stream_silence_warning"):
        OpenAISettings(stream_silence_warning=0)
