"""The provider-neutral machinery of the LLM callers over HTTP (OpenAI, Anthropic).

:class:`HTTPCallerCore` holds what needs no I/O: timeouts and pool limits from the settings,
connection failures counted per request, and the mapping of transport failures and unfinished
streams onto the typed errors. :class:`SyncHTTPCaller` and :class:`AsyncHTTPCaller` hold only
the I/O path: one pooled httpx2 client, sending a request, reading an SSE stream, closing.

A provider supplies its :class:`Route` (card, URL and headers, resolved once per model), its
request body, its reply decoding, its stream assembler and its status-error mapping through the
hooks of :class:`HTTPCallerCore`; the callers never retry (the agent-call state machine owns the
retry budget and reads ``retryable`` / ``retry_after`` from the error).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

import httpx2
from lllm_domain.errors import LLMAPIError
from lllm_domain.message import Message
from lllm_domain.model_card import ModelCard
from lllm_domain.request import LLMRequest

from lllm_adapters.api_errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidResponseError,
    StreamInterruptedError,
)

MAX_TRACKED_REQUESTS = 1024
"""Requests whose connection failures a caller remembers at once (oldest forgotten first)."""


class HTTPSettings(Protocol):
    """What the shared machinery reads from a provider's settings (timeouts in seconds)."""

    @property
    def base_url(self) -> str:
        """The endpoint the settings point at."""

    @property
    def connect_timeout(self) -> float:
        """Seconds to open a connection."""

    @property
    def read_timeout(self) -> float:
        """Seconds between two received chunks."""

    @property
    def write_timeout(self) -> float:
        """Seconds to send a request."""

    @property
    def total_timeout(self) -> float | None:
        """Seconds for a whole request, streamed body included (``None``: no limit)."""

    @property
    def max_connections(self) -> int:
        """Size of the connection pool."""

    @property
    def max_keepalive_connections(self) -> int:
        """Idle connections kept open."""

    @property
    def retry_after_cap(self) -> float:
        """Longest server-requested delay honoured."""

    @property
    def connect_retries(self) -> int:
        """Connection failures per request reported retryable."""


class StreamAssembly(Protocol):
    """What the shared machinery reads from a provider's stream assembler."""

    delivered: bool
    """Whether any text reached ``on_delta``."""

    @property
    def partial_text(self) -> str:
        """The text received so far."""

    @property
    def done(self) -> bool:
        """Whether the stream is a whole reply."""

    @property
    def ended(self) -> bool:
        """Whether the server said the stream is over, complete or not."""

    @property
    def missing(self) -> str:
        """What keeps the stream from being a whole reply."""

    def feed(self, data: str) -> None:
        """Take the ``data:`` payload of one SSE event."""


class StreamTouch(Protocol):
    """A watch on one stream, told each time a line arrives."""

    def touch(self) -> None:
        """A line arrived."""


class Route:
    """Where one model goes: its card, URL and headers (resolved once)."""

    __slots__ = ("card", "headers", "url", "where")

    def __init__(self, card: ModelCard, url: str, headers: Mapping[str, str]) -> None:
        self.card = card
        # Parsed once: a string URL (and a dict of headers) is parsed again by every request.
        self.url = httpx2.URL(url)
        self.headers = httpx2.Headers(headers)
        self.where = f"{url} (model {card.model_id})"
        """The endpoint and model, as error messages name them."""


def proxy_variables_set() -> bool:
    """Whether a proxy variable (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, any case) is
    set: then every request goes through the httpx2 client, which honours them and
    ``NO_PROXY`` (a client given its own transport would ignore them)."""
    proxies = urllib.request.getproxies_environment()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


S = TypeVar("S", bound=HTTPSettings)
R = TypeVar("R", bound=Route)
A = TypeVar("A", bound=StreamAssembly)
T = TypeVar("T")


def settings_from_env(
    cls: Callable[..., T],
    environ: Mapping[str, str] | None,
    overrides: Mapping[str, object],
    *,
    key_variable: str,
    url_variable: str,
    default_url: str,
) -> T:
    """Provider settings ``cls`` with ``api_key`` from ``key_variable`` and ``base_url`` from
    ``url_variable`` (else ``default_url``) of ``environ`` (default: the process environment);
    keyword ``overrides`` win."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {
        "api_key": env.get(key_variable) or None,
        "base_url": env.get(url_variable) or default_url,
    }
    values.update(overrides)
    return cls(**values)


def sse_data(line: str) -> str | None:
    """The payload of an SSE ``data:`` line (``None`` for any other line)."""
    if line.startswith("data:"):
        return line[5:].strip()
    return None


class HTTPCallerCore(ABC, Generic[S, R, A]):
    """What the sync and async callers of every provider share, without I/O.

    A provider names its settings class and base-URL variable (for error messages) and
    implements the hooks: :meth:`_route_for`, :meth:`_body`, :meth:`_decode`,
    :meth:`_assembler`, :meth:`_stream_message` and :meth:`_map_status`.
    """

    _settings_name: ClassVar[str]
    """The provider's settings class, named in timeout errors."""
    _base_url_env: ClassVar[str]
    """The variable that sets the provider's base URL, named in connection errors."""

    def __init__(self, settings: S) -> None:
        self.settings: S = settings
        """Endpoint, timeouts and pool size (the key is hidden from ``repr``)."""
        # Connection failures per request, keyed by its messages tuple: the machine retries a
        # turn with the same tuple (wrappers such as RecordingCaller may copy the request
        # around it); the tuple is held so its id is not reused while counted.
        self._connect_failures: dict[int, tuple[object, int]] = {}
        # Each route's headers merged with the client's defaults (user agent, accept, ...),
        # for requests sent straight to the transport.
        self._merged: dict[Route, httpx2.Headers] = {}
        self._extensions = {"timeout": self._timeout().as_dict()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.settings.base_url!r})"

    @abstractmethod
    def _route_for(self, request: LLMRequest) -> R:
        """The route of ``request`` (cached per model)."""

    @abstractmethod
    def _body(self, request: LLMRequest, route: R) -> bytes:
        """The encoded request body."""

    @abstractmethod
    def _decode(self, raw: bytes, request: LLMRequest, route: R) -> Message:
        """The message of a whole (non-streamed) reply body."""

    @abstractmethod
    def _assembler(self, request: LLMRequest, route: R) -> A:
        """A fresh assembler for one streamed reply."""

    @abstractmethod
    def _stream_message(self, assembler: A, request: LLMRequest, route: R) -> Message:
        """The message of a finished stream."""

    @abstractmethod
    def _map_status(
        self, status: int, headers: Mapping[str, str], body: bytes, where: str
    ) -> LLMAPIError:
        """The typed error of an error status."""

    def _watch(self, route: R) -> contextlib.AbstractContextManager[StreamTouch | None]:
        """Watch a stream for silence (by default, no watch)."""
        return contextlib.nullcontext()

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

    def _direct_request(self, route: R, body: bytes, defaults: httpx2.Headers) -> httpx2.Request:
        """The POST of ``body`` to ``route`` for the pool's transport itself: ``route``'s
        headers over the client's ``defaults`` (merged once per route) and the timeouts."""
        headers = self._merged.get(route)
        if headers is None:
            headers = httpx2.Headers(defaults)
            headers.update(route.headers)
            self._merged[route] = headers
        return httpx2.Request(
            "POST", route.url, headers=headers, content=body, extensions=self._extensions
        )

    def _status_error(self, route: R, response: httpx2.Response) -> LLMAPIError:
        return self._map_status(
            response.status_code, response.headers, response.content, route.where
        )

    def _connected(self, request: LLMRequest) -> None:
        """``request`` reached the server: forget its connection failures."""
        if self._connect_failures:
            self._connect_failures.pop(id(request.messages), None)

    def _connect_error(self, request: LLMRequest, route: R, exc: BaseException) -> LLMAPIError:
        """A connection that could not be opened: retryable ``connect_retries`` times per
        request, then not (nothing answers there; waiting longer rarely helps)."""
        failures = self._connect_failures
        key = id(request.messages)
        seen = failures.pop(key, (request.messages, 0))[1] + 1
        detail = f"{type(exc).__name__}: {str(exc) or type(exc).__name__}"
        # Still counted once over the limit: a recall of the same request (max_llm_recall)
        # fails at once instead of starting the retries over.
        failures[key] = (request.messages, seen)
        while len(failures) > MAX_TRACKED_REQUESTS:
            del failures[next(iter(failures))]
        if seen <= self.settings.connect_retries:
            return APIConnectionError(
                f"{route.where}: could not connect ({detail})", retryable=True, code="connect"
            )
        return APIConnectionError(
            f"{route.where}: could not connect ({detail}), {seen} attempts; nothing answers "
            f"there: start the server or correct the base URL ({self._base_url_env})",
            retryable=False,
            code="connect",
        )

    def _transport_error(
        self,
        request: LLMRequest,
        route: R,
        exc: BaseException,
        assembler: A | None = None,
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
                f"in {self._settings_name} if the model is slow",
                retryable=True,
                code="timeout",
            )
        return APIConnectionError(
            f"{route.where}: the connection failed ({what}: {detail})",
            retryable=True,
            code="connection_error",
        )

    def _finish_stream(self, request: LLMRequest, route: R, assembler: A) -> Message:
        if not assembler.done:
            # A final event that still leaves the reply unfinished is an incomplete stream; a
            # stream that just stops is a truncated one. Both are retryable only while nothing
            # was shown: a replay would show the user the same text twice.
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
        return self._stream_message(assembler, request, route)


class SyncHTTPCaller(HTTPCallerCore[S, R, A]):
    """The synchronous I/O path: one pooled ``httpx2.Client`` (opened by :meth:`_open`)."""

    _client: httpx2.Client
    _transport: httpx2.BaseTransport | None
    """The pool's transport, which whole replies go to directly; ``None`` while a proxy
    variable is set (then the client routes every request)."""

    def _open(self, transport: httpx2.BaseTransport | None) -> None:
        """Open the pool (``transport`` replaces the network, e.g. in tests)."""
        if transport is None and not proxy_variables_set():
            transport = httpx2.HTTPTransport(limits=self._limits())
        self._transport = transport
        self._client = httpx2.Client(
            timeout=self._timeout(), limits=self._limits(), transport=transport
        )

    def call(self, request: LLMRequest) -> Message:
        """Send ``request``; return the assistant (or tool-call) message or raise a typed
        :class:`LLMAPIError`. Streams when ``request.on_delta`` is set.

        Unless a proxy variable is set, a whole reply goes straight to the pool's transport
        with the client's headers: the client layer (URL merging, cookies, auth,
        redirects, event hooks — none of which a model request uses) cost about 140 µs of CPU
        per request, a tenth of a loopback agent run."""
        route = self._route_for(request)
        body = self._body(request, route)
        if request.on_delta is not None:
            return self._stream(request, route, body)
        try:
            if self._transport is not None:
                response = self._transport.handle_request(
                    self._direct_request(route, body, self._client.headers)
                )
                try:
                    response.read()
                finally:
                    response.close()
            else:
                response = self._client.post(route.url, content=body, headers=route.headers)
        except httpx2.HTTPError as exc:
            raise self._transport_error(request, route, exc) from None
        self._connected(request)
        if response.status_code >= 400:
            raise self._status_error(route, response)
        return self._decode(response.content, request, route)

    def _stream(self, request: LLMRequest, route: R, body: bytes) -> Message:
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
                    data = sse_data(line)
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncHTTPCaller(HTTPCallerCore[S, R, A]):
    """The asynchronous I/O path: one pooled ``httpx2.AsyncClient``, created on first use inside
    the running event loop (and recreated if a later call runs in a different loop, since
    connections belong to one)."""

    _transport: httpx2.AsyncBaseTransport | None
    _client: httpx2.AsyncClient | None
    _loop_transport: httpx2.AsyncBaseTransport | None
    """The transport of the current loop's pool, which whole replies go to directly; ``None``
    while a proxy variable is set (then the client routes every request)."""
    _loop: asyncio.AbstractEventLoop | None
    _direct: bool

    def _open(self, transport: httpx2.AsyncBaseTransport | None) -> None:
        """Prepare the pool (``transport`` replaces the network, e.g. in tests)."""
        self._transport = transport
        self._client = None
        self._loop_transport = None
        self._loop = None
        self._direct = transport is not None or not proxy_variables_set()

    def _client_for_loop(self) -> tuple[httpx2.AsyncClient, httpx2.AsyncBaseTransport | None]:
        loop = asyncio.get_running_loop()
        client = self._client
        if client is None or self._loop is not loop:
            transport = self._transport
            if transport is None and self._direct:
                transport = httpx2.AsyncHTTPTransport(limits=self._limits())
            client = httpx2.AsyncClient(
                timeout=self._timeout(), limits=self._limits(), transport=transport
            )
            self._client = client
            self._loop_transport = transport
            self._loop = loop
        return client, self._loop_transport

    async def acall(self, request: LLMRequest) -> Message:
        """Send ``request``; return the assistant (or tool-call) message or raise a typed
        :class:`LLMAPIError`. Streams when ``request.on_delta`` is set. A whole reply goes
        straight to the pool's transport unless a proxy variable is set, as in
        :meth:`SyncHTTPCaller.call`."""
        route = self._route_for(request)
        body = self._body(request, route)
        client, transport = self._client_for_loop()
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
                if transport is not None:
                    response = await transport.handle_async_request(
                        self._direct_request(route, body, client.headers)
                    )
                    try:
                        await response.aread()
                    finally:
                        await response.aclose()
                else:
                    response = await client.post(route.url, content=body, headers=route.headers)
        except (httpx2.HTTPError, TimeoutError) as exc:
            raise self._transport_error(request, route, exc) from None
        self._connected(request)
        if response.status_code >= 400:
            raise self._status_error(route, response)
        return self._decode(response.content, request, route)

    async def _stream(
        self, client: httpx2.AsyncClient, route: R, body: bytes, assembler: A
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
                    data = sse_data(line)
                    if data is not None:
                        assembler.feed(data)

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
