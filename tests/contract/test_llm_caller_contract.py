"""The LLM caller contract, run against every caller: the scripted caller (lllm_domain.testing),
the OpenAI callers (sync and async, Chat Completions and Responses API) and the Anthropic
callers (sync and async, Messages API) over real HTTP.

A caller turns a request into an assistant message (text, or a tool-call turn whose calls carry
the provider's ids and decoded arguments), streams text deltas when asked, and reports failures
as ``LLMAPIError`` with ``retryable`` and ``retry_after`` set.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest
from lllm_adapters.anthropic import AnthropicCaller, AnthropicSettings, AsyncAnthropicCaller
from lllm_adapters.openai import AsyncOpenAICaller, OpenAICaller, OpenAISettings
from lllm_domain.errors import LLMAPIError
from lllm_domain.function import Function
from lllm_domain.message import Message, Role, user_message
from lllm_domain.request import LLMRequest
from lllm_domain.testing import ScriptedCaller, api_error, call, text, tool_calls

from tests.support.anthropic_server import AnthropicServer, anthropic_error, message
from tests.support.openai_server import (
    OpenAIServer,
    chat_completion,
    error_reply,
    response_object,
)

WEATHER = Function("get_weather", "", {"city": {"type": "string"}}, ("city",))


class Backend(Protocol):
    api_type: str
    model: str

    def push_text(self, content: str) -> None: ...
    def push_tool_call(self, call_id: str, name: str, arguments: dict[str, Any]) -> None: ...
    def push_error(self, status: int, retry_after: float | None = None) -> None: ...
    def send(self, request: LLMRequest) -> Message: ...


class ScriptedBackend:
    api_type = "completion"
    model = "gpt-4o"

    def __init__(self) -> None:
        self.caller = ScriptedCaller()

    def push_text(self, content: str) -> None:
        self.caller.push(text(content))

    def push_tool_call(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
        self.caller.push(tool_calls(call(name, call_id, **arguments)))

    def push_error(self, status: int, retry_after: float | None = None) -> None:
        self.caller.push(api_error(status, retry_after=retry_after))

    def send(self, request: LLMRequest) -> Message:
        return self.caller.call(request)


class OpenAIBackend:
    model = "gpt-4o"

    def __init__(self, server: OpenAIServer, api_type: str, send: Callable[[LLMRequest], Message]):
        self.server = server
        self.api_type = api_type
        self.send = send  # type: ignore[method-assign]

    def push_text(self, content: str) -> None:
        if self.api_type == "response":
            self.server.script(response_object(content))
        else:
            self.server.script(chat_completion(content))

    def push_tool_call(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
        spec = [(call_id, name, json.dumps(arguments))]
        if self.api_type == "response":
            self.server.script(response_object(None, tool_calls=spec))
        else:
            self.server.script(chat_completion(None, tool_calls=spec))

    def push_error(self, status: int, retry_after: float | None = None) -> None:
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        self.server.script(error_reply(status, headers=headers))


class AnthropicBackend:
    api_type = "completion"
    model = "claude-haiku-4-5"

    def __init__(self, server: AnthropicServer, send: Callable[[LLMRequest], Message]):
        self.server = server
        self.send = send  # type: ignore[method-assign]

    def push_text(self, content: str) -> None:
        self.server.script(message(content))

    def push_tool_call(self, call_id: str, name: str, arguments: dict[str, Any]) -> None:
        self.server.script(message(None, tool_uses=[(call_id, name, arguments)]))

    def push_error(self, status: int, retry_after: float | None = None) -> None:
        headers = {} if retry_after is None else {"retry-after": str(retry_after)}
        self.server.script(anthropic_error(status, headers=headers))


@pytest.fixture(
    params=[
        "scripted",
        "openai-sync-chat",
        "openai-async-chat",
        "openai-sync-responses",
        "openai-async-responses",
        "anthropic-sync-messages",
        "anthropic-async-messages",
    ]
)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    kind: str = request.param
    if kind == "scripted":
        yield ScriptedBackend()
        return
    if kind.startswith("anthropic"):
        with AnthropicServer() as anthropic_server:
            asettings = AnthropicSettings(
                api_key="sk-ant-contract", base_url=anthropic_server.url, read_timeout=5
            )
            if "-sync-" in kind:
                with AnthropicCaller(asettings) as anthropic_caller:
                    yield AnthropicBackend(anthropic_server, anthropic_caller.call)
            else:
                aanthropic = AsyncAnthropicCaller(asettings)
                yield AnthropicBackend(anthropic_server, lambda r: asyncio.run(aanthropic.acall(r)))
        return
    api_type = "response" if kind.endswith("responses") else "completion"
    with OpenAIServer() as server:
        settings = OpenAISettings(api_key="sk-contract", base_url=server.url, read_timeout=5)
        if "-sync-" in kind:
            with OpenAICaller(settings) as caller:
                yield OpenAIBackend(server, api_type, caller.call)
        else:
            acaller = AsyncOpenAICaller(settings)
            yield OpenAIBackend(server, api_type, lambda r: asyncio.run(acaller.acall(r)))


def request(backend: Backend, **kwargs: Any) -> LLMRequest:
    return LLMRequest(
        (user_message("hi"),),
        backend.model,
        api_type=backend.api_type,
        agent_name="agent",
        **kwargs,
    )


def test_text_reply(backend: Backend) -> None:
    backend.push_text("hello")
    reply = backend.send(request(backend))
    assert reply.role is Role.ASSISTANT
    assert reply.content == "hello"
    assert not reply.function_calls


def test_tool_call_reply_keeps_ids_and_arguments(backend: Backend) -> None:
    backend.push_tool_call("call_7", "get_weather", {"city": "Oslo"})
    reply = backend.send(request(backend, tools=(WEATHER,)))
    assert reply.role is Role.TOOL_CALL
    [fc] = reply.function_calls
    assert (fc.id, fc.name, dict(fc.arguments)) == ("call_7", "get_weather", {"city": "Oslo"})
    assert fc.arguments_error is None


def test_streaming_delivers_the_text(backend: Backend) -> None:
    backend.push_text("one two three")
    deltas: list[str] = []
    reply = backend.send(request(backend, on_delta=deltas.append))
    assert "".join(deltas) == reply.content == "one two three"


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (429, True), (400, False)])
def test_errors_are_typed(backend: Backend, status: int, retryable: bool) -> None:
    backend.push_error(status, retry_after=2 if status == 429 else None)
    with pytest.raises(LLMAPIError) as info:
        backend.send(request(backend))
    assert info.value.retryable is retryable
    assert info.value.status == status
    if status == 429:
        assert info.value.retry_after == 2
