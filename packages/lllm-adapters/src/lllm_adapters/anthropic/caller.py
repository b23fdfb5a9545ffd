"""The Anthropic callers: :class:`AnthropicCaller` (sync) and :class:`AsyncAnthropicCaller`
(async), over the Messages API.

Each owns ONE pooled httpx2 client, reused for every call. The reply comes back as a domain
:class:`~lllm_domain.message.Message` or a typed :class:`~lllm_domain.errors.LLMAPIError` (the
same types as the OpenAI callers'). The callers never retry: the agent-call state machine owns
the retry budget and reads ``retryable`` / ``retry_after`` from the error.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import httpx2
import msgspec
from lllm_domain.errors import ConfigError, LLMAPIError
from lllm_domain.message import Message
from lllm_domain.model_card import ModelCard
from lllm_domain.request import LLMRequest

from lllm_adapters.anthropic.errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidResponseError,
    StreamInterruptedError,
    error_from_status,
)
from lllm_adapters.anthropic.reply import decode_message, to_message
from lllm_adapters.anthropic.request import PROVIDER, messages_body, output_tool
from lllm_adapters.anthropic.settings import AnthropicSettings
from lllm_adapters.anthropic.stream import MessagesStreamAssembler
from lllm_adapters.openai.catalog import GENERIC_FEATURES, ModelCatalog

_encoder = msgspec.json.Encoder()

_MAX_TRACKED_REQUESTS = 1024
"""Requests whose connection failures a caller remembers at once (oldest forgotten first)."""


class _Route:
    """Where one model goes: its card, URL and headers (resolved once)."""

    __slots__ = ("card", "headers", "url", "where")

    def __init__(self, card: ModelCard, url: str, headers: dict[str, str]) -> None:
        self.card = card
        # Parsed once: a string URL (and a dict of headers) is parsed again by every request.
        self.url = httpx2.URL(url)
        self.headers = httpx2.Headers(headers)
        self.where = f"{url} (model {card.model_id})"


def generic_claude_card(model: str, base_url: str) -> ModelCard:
    """A permissive card for a model the catalog does not know, served by a non-official
    Messages endpoint (a gateway or a test server): free, arguments unchecked."""
    return ModelCard(
        name=model,
        provider=PROVIDER,
        base_url=base_url,
        features=GENERIC_FEATURES - {"logprobs"},
        input_modalities=("text", "image"),
    )


class _CallerCore:
    """What the sync and async callers share: routing, bodies, decoding, error mapping."""

    def __init__(self, settings: AnthropicSettings | None, catalog: ModelCatalog | None) -> None:
        self.settings = settings if settings is not None else AnthropicSettings.from_env()
        """Endpoint, timeouts and pool size (the key is hidden from ``repr``)."""
        self.catalog = catalog if catalog is not None else ModelCatalog.builtin()
        """The model cards used for arguments, features, snapshots and cost."""
        self._routes: dict[str, _Route] = {}
        self._connect_failures: dict[int, tuple[object, int]] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.settings.base_url!r})"

    def _timeout(self) -> httpx2.Timeout:
        s = self.settings
        read = s.read_timeout if s.total_timeout is None else min(s.read_timeout, s.total_timeout)
        return httpx2.Timeout(
            connect=s.connect_timeout, read=read, write=s.write_timeout, pool=read
        )

    def _limits(self) -> httpx2.Limits:
        return httpx2.Limits(
            max_connections=self.settings.max_connections,
            max_keepalive_connections=self.settings.max_keepalive_connections,
        )

    def card(self, model: str) -> ModelCard:
        """The card of ``model``: from the catalog, or a generic one on a non-official
        endpoint. A model of another provider is a :class:`ConfigError`."""
        settings = self.settings
        if model in self.catalog:
            card = self.catalog.card(model)
        elif not settings.is_official:
            return generic_claude_card(model, settings.base_url)
        else:
            known = sorted(c.name for c in self.catalog if c.provider == PROVIDER)
            raise ConfigError(
                f"unknown Anthropic model {model!r}: no model card for it. Known Claude models: "
                f'{", ".join(known)}. Add a card with provider = "anthropic" under '
                f"[models.{model!r}] in your configuration."
            )
        if card.provider != PROVIDER:
            raise ConfigError(
                f"model {model!r} is a {card.provider} model, not an Anthropic one: send it "
                "through the caller of its provider (`lllm run` picks it by model name)"
            )
        return card

    def route(self, model: str) -> _Route:
        """The card, URL and headers for ``model`` (cached; the environment is read once)."""
        found = self._routes.get(model)
        if found is not None:
            return found
        settings = self.settings
        card = self.card(model)
        if card.base_url:
            url = AnthropicSettings(base_url=card.base_url).messages_url
        else:
            url = settings.messages_url
        if card.api_key_env:
            key = os.environ.get(card.api_key_env)
            if not key:
                raise ConfigError(
                    f"model {card.name!r} reads its API key from ${card.api_key_env}, which is "
                    "not set; export it before running"
                )
        elif url == settings.messages_url:
            key = settings.api_key
        else:
            # A card that sends its model to another host never receives ANTHROPIC_API_KEY
            # (meant for settings.base_url): it names its own key with api_key_env.
            key = None
        if key is None and url.startswith("https://api.anthropic.com"):
            raise ConfigError(
                "no Anthropic API key: set ANTHROPIC_API_KEY (or pass "
                "AnthropicSettings(api_key=...)); for a gateway without keys, set "
                "ANTHROPIC_BASE_URL"
            )
        headers = {
            "content-type": "application/json",
            "anthropic-version": settings.version,
            **settings.extra_headers,
        }
        if settings.betas:
            headers["anthropic-beta"] = ",".join(settings.betas)
        if key:
            headers["x-api-key"] = key
        route = _Route(card, url, headers)
        self._routes[model] = route
        return route

    def _body(self, request: LLMRequest, route: _Route) -> bytes:
        body = messages_body(
            request,
            route.card,
            default_max_tokens=self.settings.default_max_tokens,
            stream=request.on_delta is not None,
        )
        return _encoder.encode(body)

    @staticmethod
    def _tool_name(request: LLMRequest) -> str | None:
        forced = output_tool(request)
        return None if forced is None else forced[0]

    def _decode(self, raw: bytes, request: LLMRequest, route: _Route) -> Message:
        reply = decode_message(raw, route.where)
        return to_message(reply, request, route.card, route.where, self._tool_name(request))

    def _status_error(self, route: _Route, response: httpx2.Response) -> LLMAPIError:
        return error_from_status(
            response.status_code,
            response.headers,
            response.content,
            where=route.where,
            retry_after_cap=self.settings.retry_after_cap,
        )

    def _connected(self, request: LLMRequest) -> None:
        if self._connect_failures:
            self._connect_failures.pop(id(request.messages), None)

    def _connect_error(self, request: LLMRequest, route: _Route, exc: BaseException) -> LLMAPIError:
        failures = self._connect_failures
        key = id(request.messages)
        seen = failures.pop(key, (request.messages, 0))[1] + 1
        detail = f"{type(exc).__name__}: {str(exc) or type(exc).__name__}"
        failures[key] = (request.messages, seen)
        while len(failures) > _MAX_TRACKED_REQUESTS:
            del failures[next(iter(failures))]
        if seen <= self.settings.connect_retries:
            return APIConnectionError(
                f"{route.where}: could not connect ({detail})", retryable=True, code="connect"
            )
        return APIConnectionError(
            f"{route.where}: could not connect ({detail}), {seen} attempts; nothing answers "
            "there: start the server or correct the base URL (ANTHROPIC_BASE_URL)",
            retryable=False,
            code="connect",
        )

    def _transport_error(
        self,
        request: LLMRequest,
        route: _Route,
        exc: BaseException,
        assembler: MessagesStreamAssembler | None = None,
    ) -> LLMAPIError:
        if isinstance(exc, httpx2.ConnectError):
            return self._connect_error(request, route, exc)
        self._connected(request)
        what = type(exc).__name__
        detail = str(exc) or what
        if assembler is not None and assembler.delivered:
            return StreamInterruptedError(
                f"{route.where}: the stream broke off after part of the reply was shown "
                f"({what}: {detail}); it is not replayed automatically",
                partial_text=assembler.partial_text,
                code="stream_interrupted",
            )
        if isinstance(exc, httpx2.TimeoutException | TimeoutError):
            return APITimeoutError(
                f"{route.where} did not answer in time ({what}: {detail}); raise the timeouts "
                "in AnthropicSettings if the model is slow",
                retryable=True,
                code="timeout",
            )
        return APIConnectionError(
            f"{route.where}: the connection failed ({what}: {detail})",
            retryable=True,
            code="connection_error",
        )

    def _finish_stream(
        self, request: LLMRequest, route: _Route, assembler: MessagesStreamAssembler
    ) -> Message:
        if not assembler.done:
            code = "stream_incomplete" if assembler.ended else "stream_truncated"
            if assembler.delivered:
                raise StreamInterruptedError(
                    f"{route.where}: the stream ended before the reply was complete "
                    f"({assembler.missing}), after part of it was shown; it is not replayed "
                    "automatically",
                    partial_text=assembler.partial_text,
                    code=code,
                )
            raise InvalidResponseError(
                f"{route.where}: the stream ended before the reply was complete "
                f"({assembler.missing}); this is usually transient and is retried",
                retryable=True,
                code=code,
            )
        return to_message(
            assembler.reply(), request, route.card, route.where, self._tool_name(request)
        )


def _sse_data(line: str) -> str | None:
    if line.startswith("data:"):
        return line[5:].strip()
    return None


class AnthropicCaller(_CallerCore):
    """Synchronous caller for the Anthropic Messages API (implements ``LLMCaller``).

    Build it once and reuse it: it holds one connection pool. ``transport`` replaces the
    network (e.g. ``httpx2.MockTransport``) for tests. Close it with :meth:`close` or a ``with``
    block.
    """

    def __init__(
        self,
        settings: AnthropicSettings | None = None,
        catalog: ModelCatalog | None = None,
        *,
        transport: httpx2.BaseTransport | None = None,
    ) -> None:
        super().__init__(settings, catalog)
        self._client = httpx2.Client(
            timeout=self._timeout(), limits=self._limits(), transport=transport
        )

    def call(self, request: LLMRequest) -> Message:
        """Send ``request``; return the assistant (or tool-call) message or raise a typed
        :class:`LLMAPIError`. Streams when ``request.on_delta`` is set."""
        route = self.route(request.model)
        body = self._body(request, route)
        if request.on_delta is not None:
            return self._stream(request, route, body)
        try:
            response = self._client.post(route.url, content=body, headers=route.headers)
        except httpx2.HTTPError as exc:
            raise self._transport_error(request, route, exc) from None
        self._connected(request)
        if response.status_code >= 400:
            raise self._status_error(route, response)
        return self._decode(response.content, request, route)

    def _stream(self, request: LLMRequest, route: _Route, body: bytes) -> Message:
        assembler = MessagesStreamAssembler(request.on_delta, route.where)
        total = self.settings.total_timeout
        deadline = None if total is None else time.monotonic() + total
        try:
            with self._client.stream(
                "POST", route.url, content=body, headers=route.headers
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._status_error(route, response)
                for line in response.iter_lines():
                    data = _sse_data(line)
                    if data is not None:
                        assembler.feed(data)
                    if deadline is not None and time.monotonic() > deadline:
                        raise httpx2.ReadTimeout(f"total timeout of {total} s exceeded")
        except httpx2.HTTPError as exc:
            raise self._transport_error(request, route, exc, assembler) from None
        self._connected(request)
        return self._finish_stream(request, route, assembler)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def __enter__(self) -> AnthropicCaller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncAnthropicCaller(_CallerCore):
    """Asynchronous caller for the Anthropic Messages API (implements ``AsyncLLMCaller``).

    Holds one pooled ``httpx2.AsyncClient``, created on first use inside the running event loop
    (and recreated if a later call runs in a different loop, since connections belong to one).
    """

    def __init__(
        self,
        settings: AnthropicSettings | None = None,
        catalog: ModelCatalog | None = None,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(settings, catalog)
        self._transport = transport
        self._client: httpx2.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client_for_loop(self) -> httpx2.AsyncClient:
        loop = asyncio.get_running_loop()
        client = self._client
        if client is None or self._loop is not loop:
            client = httpx2.AsyncClient(
                timeout=self._timeout(), limits=self._limits(), transport=self._transport
            )
            self._client = client
            self._loop = loop
        return client

    async def acall(self, request: LLMRequest) -> Message:
        """Send ``request``; return the assistant (or tool-call) message or raise a typed
        :class:`LLMAPIError`. Streams when ``request.on_delta`` is set."""
        route = self.route(request.model)
        body = self._body(request, route)
        client = self._client_for_loop()
        total = self.settings.total_timeout
        if request.on_delta is not None:
            assembler = MessagesStreamAssembler(request.on_delta, route.where)
            try:
                async with asyncio.timeout(total):
                    await self._stream(client, route, body, assembler)
            except (httpx2.HTTPError, TimeoutError) as exc:
                raise self._transport_error(request, route, exc, assembler) from None
            self._connected(request)
            return self._finish_stream(request, route, assembler)
        try:
            async with asyncio.timeout(total):
                response = await client.post(route.url, content=body, headers=route.headers)
        except (httpx2.HTTPError, TimeoutError) as exc:
            raise self._transport_error(request, route, exc) from None
        self._connected(request)
        if response.status_code >= 400:
            raise self._status_error(route, response)
        return self._decode(response.content, request, route)

    async def _stream(
        self,
        client: httpx2.AsyncClient,
        route: _Route,
        body: bytes,
        assembler: MessagesStreamAssembler,
    ) -> None:
        async with client.stream("POST", route.url, content=body, headers=route.headers) as resp:
            if resp.status_code >= 400:
                await resp.aread()
                raise self._status_error(route, resp)
            async for line in resp.aiter_lines():
                data = _sse_data(line)
                if data is not None:
                    assembler.feed(data)

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> AsyncAnthropicCaller:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
