"""The OpenAI callers: :class:`OpenAICaller` (sync) and :class:`AsyncOpenAICaller` (async).

Each owns ONE pooled httpx2 client, reused for every call. A request goes to Chat Completions or
to the Responses API according to ``request.api_type``; the reply comes back as a domain
:class:`~lllm_domain.message.Message` or a typed :class:`~lllm_domain.errors.LLMAPIError`. The
callers never retry: the agent-call state machine owns the retry budget and reads
``retryable`` / ``retry_after`` from the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any

import httpx2
import msgspec
from lllm_domain.errors import ConfigError, LLMAPIError
from lllm_domain.message import Message
from lllm_domain.model_card import ModelCard
from lllm_domain.request import LLMRequest

from lllm_adapters.openai.catalog import ModelCatalog
from lllm_adapters.openai.chat_completions import (
    ChatStreamAssembler,
    chat_body,
    decode_completion,
)
from lllm_adapters.openai.errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidResponseError,
    StreamInterruptedError,
    error_from_status,
)
from lllm_adapters.openai.reply import to_message
from lllm_adapters.openai.responses import (
    ResponsesStreamAssembler,
    decode_response,
    responses_body,
)
from lllm_adapters.openai.settings import OpenAISettings
from lllm_adapters.openai.silence import SilenceMonitor, StreamWatch
from lllm_adapters.openai.stream import StreamAssembler

_encoder = msgspec.json.Encoder()

_MAX_TRACKED_REQUESTS = 1024
"""Requests whose connection failures a caller remembers at once (oldest forgotten first)."""


class _Route:
    """Where one (model, api type) goes: its card, URL and headers (resolved once)."""

    __slots__ = ("card", "headers", "responses", "url", "where")

    def __init__(self, card: ModelCard, url: str, headers: dict[str, str], responses: bool) -> None:
        self.card = card
        # Parsed once: a string URL is parsed again by every request.
        self.url = httpx2.URL(url)
        self.headers = httpx2.Headers(headers)
        self.responses = responses
        self.where = f"{url} (model {card.model_id})"


class _CallerCore:
    """What the sync and async callers share: routing, bodies, decoding, error mapping."""

    def __init__(self, settings: OpenAISettings | None, catalog: ModelCatalog | None) -> None:
        self.settings = settings if settings is not None else OpenAISettings.from_env()
        """Endpoint, timeouts and pool size (the key is hidden from ``repr``)."""
        self.catalog = catalog if catalog is not None else ModelCatalog.builtin()
        """The model cards used for arguments, features, snapshots and cost."""
        self._routes: dict[tuple[str, bool], _Route] = {}
        # Connection failures per request, keyed by its messages tuple: the machine retries a
        # turn with the same tuple (wrappers such as RecordingCaller may copy the request
        # around it); the tuple is held so its id is not reused while counted.
        self._connect_failures: dict[int, tuple[object, int]] = {}
        threshold = self.settings.stream_silence_warning
        self._silence = (
            SilenceMonitor(threshold, self.settings.read_timeout) if threshold is not None else None
        )

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

    def route(self, model: str, api_type: str) -> _Route:
        """The card, URL and headers for ``model`` (cached; the environment is read once)."""
        responses = api_type == "response"
        key = (model, responses)
        found = self._routes.get(key)
        if found is not None:
            return found
        if api_type not in ("completion", "response"):
            raise ConfigError(f"api_type must be 'completion' or 'response', not {api_type!r}")
        settings = self.settings
        card = self.catalog.card(model, base_url=settings.base_url)
        base_url = (card.base_url or settings.base_url).rstrip("/")
        if api_type not in card.api_types:
            raise ConfigError(
                f"model {card.name!r} does not speak the {api_type!r} API (its card allows "
                f"{', '.join(card.api_types)}); change the agent's api_type"
            )
        if card.api_key_env:
            key_value = os.environ.get(card.api_key_env)
            if not key_value:
                raise ConfigError(
                    f"model {card.name!r} reads its API key from ${card.api_key_env}, which is "
                    "not set; export it before running"
                )
        elif base_url == settings.base_url.rstrip("/"):
            key_value = settings.api_key
        else:
            # A card that sends its model to another host never receives the settings' key
            # (that is OPENAI_API_KEY, meant for settings.base_url): it names its own.
            key_value = None
        if key_value is None and base_url.startswith("https://api.openai.com"):
            raise ConfigError(
                "no OpenAI API key: set OPENAI_API_KEY (or pass OpenAISettings(api_key=...)); "
                "for a compatible server without keys, set OPENAI_BASE_URL"
            )
        headers = {"content-type": "application/json", **settings.extra_headers}
        if key_value:
            headers["authorization"] = f"Bearer {key_value}"
        url = f"{base_url}/responses" if responses else f"{base_url}/chat/completions"
        route = _Route(card, url, headers, responses)
        self._routes[key] = route
        return route

    def _body(self, request: LLMRequest, route: _Route) -> bytes:
        stream = request.on_delta is not None
        if route.responses:
            body = responses_body(request, route.card, stream=stream)
        else:
            body = chat_body(request, route.card, stream=stream)
        return _encoder.encode(body)

    @staticmethod
    def _decode(raw: bytes, request: LLMRequest, route: _Route) -> Message:
        if route.responses:
            reply = decode_response(raw, route.where)
        else:
            reply = decode_completion(raw, route.where)
        return to_message(reply, request, route.card, route.where)

    @staticmethod
    def _assembler(request: LLMRequest, route: _Route) -> StreamAssembler:
        if route.responses:
            return ResponsesStreamAssembler(request.on_delta, route.where)
        return ChatStreamAssembler(request.on_delta, route.where)

    def _watch(self, route: _Route) -> contextlib.AbstractContextManager[StreamWatch | None]:
        """Watch a stream for silence (a no-op when the warning is turned off)."""
        if self._silence is None:
            return contextlib.nullcontext()
        return self._silence.watch(route.where)

    def _status_error(self, route: _Route, response: httpx2.Response) -> LLMAPIError:
        return error_from_status(
            response.status_code,
            response.headers,
            response.content,
            where=route.where,
            retry_after_cap=self.settings.retry_after_cap,
        )

    def _connected(self, request: LLMRequest) -> None:
        """``request`` reached the server: forget its connection failures."""
        if self._connect_failures:
            self._connect_failures.pop(id(request.messages), None)

    def _connect_error(self, request: LLMRequest, route: _Route, exc: BaseException) -> LLMAPIError:
        """A connection that could not be opened: retryable ``connect_retries`` times per
        request, then not (nothing answers there; waiting longer rarely helps)."""
        failures = self._connect_failures
        key = id(request.messages)
        seen = failures.pop(key, (request.messages, 0))[1] + 1
        detail = f"{type(exc).__name__}: {str(exc) or type(exc).__name__}"
        # Still counted once over the limit: a recall of the same request (max_llm_recall)
        # fails at once instead of starting the retries over.
        failures[key] = (request.messages, seen)
        while len(failures) > _MAX_TRACKED_REQUESTS:
            del failures[next(iter(failures))]
        if seen <= self.settings.connect_retries:
            return APIConnectionError(
                f"{route.where}: could not connect ({detail})", retryable=True, code="connect"
            )
        return APIConnectionError(
            f"{route.where}: could not connect ({detail}), {seen} attempts; nothing answers "
            "there: start the server or correct the base URL (OPENAI_BASE_URL)",
            retryable=False,
            code="connect",
        )

    def _transport_error(
        self,
        request: LLMRequest,
        route: _Route,
        exc: BaseException,
        assembler: StreamAssembler | None = None,
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
                "in OpenAISettings if the model is slow",
                retryable=True,
                code="timeout",
            )
        return APIConnectionError(
            f"{route.where}: the connection failed ({what}: {detail})",
            retryable=True,
            code="connection_error",
        )

    @staticmethod
    def _finish_stream(request: LLMRequest, route: _Route, assembler: StreamAssembler) -> Message:
        if not assembler.done:
            # "[DONE]" (or a final event) that still leaves the reply unfinished is an incomplete
            # stream; a stream that just stops is a truncated one. Both are retryable only while
            # nothing was shown: a replay would show the user the same text twice.
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
        return to_message(assembler.reply(), request, route.card, route.where)


def _sse_data(line: str) -> str | None:
    if line.startswith("data:"):
        return line[5:].strip()
    return None


class OpenAICaller(_CallerCore):
    """Synchronous caller for OpenAI and compatible servers (implements ``LLMCaller``).

    Build it once and reuse it: it holds one connection pool. ``transport`` replaces the
    network (e.g. ``httpx2.MockTransport``) for tests. Close it with :meth:`close` or a ``with``
    block.
    """

    def __init__(
        self,
        settings: OpenAISettings | None = None,
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
        route = self.route(request.model, request.api_type)
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
        assembler = self._assembler(request, route)
        total = self.settings.total_timeout
        deadline = None if total is None else time.monotonic() + total
        try:
            with (
                self._watch(route) as watch,
                self._client.stream(
                    "POST", route.url, content=body, headers=route.headers
                ) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    raise self._status_error(route, response)
                for line in response.iter_lines():
                    if watch is not None:
                        watch.touch()
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

    def __enter__(self) -> OpenAICaller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncOpenAICaller(_CallerCore):
    """Asynchronous caller for OpenAI and compatible servers (implements ``AsyncLLMCaller``).

    Holds one pooled ``httpx2.AsyncClient``, created on first use inside the running event loop
    (and recreated if a later call runs in a different loop, since connections belong to one).
    """

    def __init__(
        self,
        settings: OpenAISettings | None = None,
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
        route = self.route(request.model, request.api_type)
        body = self._body(request, route)
        client = self._client_for_loop()
        total = self.settings.total_timeout
        if request.on_delta is not None:
            assembler = self._assembler(request, route)
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
        self, client: httpx2.AsyncClient, route: _Route, body: bytes, assembler: StreamAssembler
    ) -> None:
        with self._watch(route) as watch:
            async with client.stream(
                "POST", route.url, content=body, headers=route.headers
            ) as resp:
                if resp.status_code >= 400:
                    await resp.aread()
                    raise self._status_error(route, resp)
                async for line in resp.aiter_lines():
                    if watch is not None:
                        watch.touch()
                    data = _sse_data(line)
                    if data is not None:
                        assembler.feed(data)

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> AsyncOpenAICaller:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
