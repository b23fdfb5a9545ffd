"""Whole replies skip httpx2's client layer when no proxy applies: the request still carries
the client's default headers and the route's, timeouts still hold, and a proxy variable sends
requests through the client, which honours it."""

from __future__ import annotations

import socket

import pytest
from lllm_adapters.http_caller import proxy_variables_set
from lllm_adapters.openai import APIConnectionError, AsyncOpenAICaller, OpenAICaller
from lllm_domain.message import user_message
from lllm_domain.request import LLMRequest

from tests.integration.openai.conftest import settings_for
from tests.support.caller_fixtures import call_through
from tests.support.openai_server import OpenAIServer, chat_completion

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_direct_request_carries_the_clients_and_the_routes_headers(
    mode: str, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxies(monkeypatch)
    openai_server.script(chat_completion("hello"), chat_completion("again"))
    settings = settings_for(openai_server)
    for send in call_through(
        mode, lambda: OpenAICaller(settings), lambda: AsyncOpenAICaller(settings)
    ):
        assert send(LLMRequest((user_message("hi"),), "gpt-4o")).content == "hello"
        assert send(LLMRequest((user_message("hi"),), "gpt-4o")).content == "again"
    first, second = openai_server.requests
    for received in (first, second):
        assert received.headers["user-agent"].startswith("python-httpx2/")
        assert received.headers["content-type"] == "application/json"
        assert received.headers["authorization"].startswith("Bearer ")
        assert received.headers["accept-encoding"] == "gzip, deflate"
        assert int(received.headers["content-length"]) == len(received.body)


@pytest.mark.parametrize("name", PROXY_VARIABLES)
def test_any_proxy_variable_counts(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_proxies(monkeypatch)
    assert not proxy_variables_set()
    monkeypatch.setenv(name, "http://proxy.invalid:3128")
    assert proxy_variables_set()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_with_a_proxy_variable_set_requests_go_through_the_proxy(
    mode: str, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxies(monkeypatch)
    with socket.socket() as sock:  # a proxy address where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "")
    openai_server.script(chat_completion("never sent"))
    settings = settings_for(openai_server)
    for send in call_through(
        mode, lambda: OpenAICaller(settings), lambda: AsyncOpenAICaller(settings)
    ):
        with pytest.raises(APIConnectionError):
            send(LLMRequest((user_message("hi"),), "gpt-4o"))
    assert openai_server.requests == []  # the request went to the (dead) proxy
