"""The Anthropic callers: :class:`AnthropicCaller` (sync) and :class:`AsyncAnthropicCaller`
(async), over the Messages API.

Each owns ONE pooled httpx2 client, reused for every call. The reply comes back as a domain
:class:`~lllm_domain.message.Message` or a typed :class:`~lllm_domain.errors.LLMAPIError` (the
same types as the OpenAI callers'). The callers never retry: the agent-call state machine owns
the retry budget and reads ``retryable`` / ``retry_after`` from the error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx2
import msgspec
from lllm_domain.errors import ConfigError, LLMAPIError
from lllm_domain.message import Message
from lllm_domain.model_card import ModelCard
from lllm_domain.request import LLMRequest

from lllm_adapters.anthropic.errors import error_from_status
from lllm_adapters.anthropic.reply import decode_message, to_message
from lllm_adapters.anthropic.request import PROVIDER, messages_body, output_tool
from lllm_adapters.anthropic.settings import AnthropicSettings
from lllm_adapters.anthropic.stream import MessagesStreamAssembler
from lllm_adapters.http_caller import AsyncHTTPCaller, HTTPCallerCore, Route, SyncHTTPCaller
from lllm_adapters.openai.catalog import GENERIC_FEATURES, ModelCatalog

_encoder = msgspec.json.Encoder()


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


class _CallerCore(HTTPCallerCore[AnthropicSettings, Route, MessagesStreamAssembler]):
    """What the sync and async Anthropic callers share: routing, bodies, decoding, errors."""

    _settings_name = "AnthropicSettings"
    _base_url_env = "ANTHROPIC_BASE_URL"

    def __init__(self, settings: AnthropicSettings | None, catalog: ModelCatalog | None) -> None:
        super().__init__(settings if settings is not None else AnthropicSettings.from_env())
        self.catalog = catalog if catalog is not None else ModelCatalog.builtin()
        """The model cards used for arguments, features, snapshots and cost."""
        self._routes: dict[str, Route] = {}

    def _route_for(self, request: LLMRequest) -> Route:
        return self.route(request.model)

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

    def route(self, model: str) -> Route:
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
        route = Route(card, url, headers)
        self._routes[model] = route
        return route

    def _body(self, request: LLMRequest, route: Route) -> bytes:
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

    def _decode(self, raw: bytes, request: LLMRequest, route: Route) -> Message:
        reply = decode_message(raw, route.where)
        return to_message(reply, request, route.card, route.where, self._tool_name(request))

    def _assembler(self, request: LLMRequest, route: Route) -> MessagesStreamAssembler:
        return MessagesStreamAssembler(request.on_delta, route.where)

    def _stream_message(
        self, assembler: MessagesStreamAssembler, request: LLMRequest, route: Route
    ) -> Message:
        return to_message(
            assembler.reply(), request, route.card, route.where, self._tool_name(request)
        )

    def _map_status(
        self, status: int, headers: Mapping[str, str], body: bytes, where: str
    ) -> LLMAPIError:
        return error_from_status(
            status, headers, body, where=where, retry_after_cap=self.settings.retry_after_cap
        )


class AnthropicCaller(
    _CallerCore, SyncHTTPCaller[AnthropicSettings, Route, MessagesStreamAssembler]
):
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
        self._open(transport)


class AsyncAnthropicCaller(
    _CallerCore, AsyncHTTPCaller[AnthropicSettings, Route, MessagesStreamAssembler]
):
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
        self._open(transport)
