"""The OpenAI callers: :class:`OpenAICaller` (sync) and :class:`AsyncOpenAICaller` (async).

Each owns ONE pooled httpx2 client, reused for every call. A request goes to Chat Completions or
to the Responses API according to ``request.api_type``; the reply comes back as a domain
:class:`~lllm_domain.message.Message` or a typed :class:`~lllm_domain.errors.LLMAPIError`. The
callers never retry: the agent-call state machine owns the retry budget and reads
``retryable`` / ``retry_after`` from the error.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

import httpx2
import msgspec
from lllm_domain.errors import ConfigError, LLMAPIError
from lllm_domain.message import Message
from lllm_domain.model_card import ModelCard
from lllm_domain.request import LLMRequest

from lllm_adapters.http_caller import (
    AsyncHTTPCaller,
    HTTPCallerCore,
    Route,
    StreamTouch,
    SyncHTTPCaller,
)
from lllm_adapters.openai.catalog import ModelCatalog
from lllm_adapters.openai.chat_completions import (
    ChatStreamAssembler,
    chat_body,
    decode_completion,
)
from lllm_adapters.openai.errors import error_from_status
from lllm_adapters.openai.reply import to_message
from lllm_adapters.openai.responses import (
    ResponsesStreamAssembler,
    decode_response,
    responses_body,
)
from lllm_adapters.openai.settings import OpenAISettings
from lllm_adapters.openai.silence import SilenceMonitor
from lllm_adapters.openai.stream import StreamAssembler

_encoder = msgspec.json.Encoder()


class _Route(Route):
    """Where one (model, api type) goes: its card, URL and headers (resolved once)."""

    __slots__ = ("responses",)

    def __init__(self, card: ModelCard, url: str, headers: dict[str, str], responses: bool) -> None:
        super().__init__(card, url, headers)
        self.responses = responses


class _CallerCore(HTTPCallerCore[OpenAISettings, _Route, StreamAssembler]):
    """What the sync and async OpenAI callers share: routing, bodies, decoding, error mapping."""

    _settings_name = "OpenAISettings"
    _base_url_env = "OPENAI_BASE_URL"

    def __init__(self, settings: OpenAISettings | None, catalog: ModelCatalog | None) -> None:
        super().__init__(settings if settings is not None else OpenAISettings.from_env())
        self.catalog = catalog if catalog is not None else ModelCatalog.builtin()
        """The model cards used for arguments, features, snapshots and cost."""
        self._routes: dict[tuple[str, bool], _Route] = {}
        threshold = self.settings.stream_silence_warning
        self._silence = (
            SilenceMonitor(threshold, self.settings.read_timeout) if threshold is not None else None
        )

    def _route_for(self, request: LLMRequest) -> _Route:
        return self.route(request.model, request.api_type)

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

    def _decode(self, raw: bytes, request: LLMRequest, route: _Route) -> Message:
        if route.responses:
            reply = decode_response(raw, route.where)
        else:
            reply = decode_completion(raw, route.where)
        return to_message(reply, request, route.card, route.where)

    def _assembler(self, request: LLMRequest, route: _Route) -> StreamAssembler:
        if route.responses:
            return ResponsesStreamAssembler(request.on_delta, route.where)
        return ChatStreamAssembler(request.on_delta, route.where)

    def _watch(self, route: _Route) -> contextlib.AbstractContextManager[StreamTouch | None]:
        """Watch a stream for silence (a no-op when the warning is turned off)."""
        if self._silence is None:
            return contextlib.nullcontext()
        return self._silence.watch(route.where)

    def _stream_message(
        self, assembler: StreamAssembler, request: LLMRequest, route: _Route
    ) -> Message:
        return to_message(assembler.reply(), request, route.card, route.where)

    def _map_status(
        self, status: int, headers: Mapping[str, str], body: bytes, where: str
    ) -> LLMAPIError:
        return error_from_status(
            status, headers, body, where=where, retry_after_cap=self.settings.retry_after_cap
        )


class OpenAICaller(_CallerCore, SyncHTTPCaller[OpenAISettings, _Route, StreamAssembler]):
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
        self._open(transport)


class AsyncOpenAICaller(_CallerCore, AsyncHTTPCaller[OpenAISettings, _Route, StreamAssembler]):
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
        self._open(transport)
