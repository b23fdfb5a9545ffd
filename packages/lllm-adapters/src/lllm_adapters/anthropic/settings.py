"""Connection settings of the Anthropic callers: endpoint, key, API version, timeouts, pool."""

from __future__ import annotations

import os
from collections.abc import Mapping

from attrs import define, field
from lllm_domain.errors import ConfigError

from lllm_adapters.openai.errors import DEFAULT_RETRY_AFTER_CAP

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
"""The official endpoint (requests go to ``{base_url}/v1/messages``)."""

ANTHROPIC_VERSION = "2023-06-01"
"""The ``anthropic-version`` header: the Messages API's current (and only stable) version."""


@define(frozen=True, slots=True)
class AnthropicSettings:
    """Where and how the callers reach the Anthropic Messages API.

    The API key is sent as ``x-api-key`` only to ``base_url`` and is never shown in ``repr``,
    errors or logs. Timeouts are in seconds, as for
    :class:`~lllm_adapters.openai.OpenAISettings`: ``connect_timeout`` to open a connection,
    ``read_timeout`` between two received chunks, ``total_timeout`` (optional) for a whole
    request. ``retry_after_cap`` bounds a server-requested delay. ``betas`` go out as the
    ``anthropic-beta`` header (e.g. ``"interleaved-thinking-2025-05-14"``).
    """

    api_key: str | None = field(default=None, repr=False)
    base_url: str = ANTHROPIC_BASE_URL
    version: str = ANTHROPIC_VERSION
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    write_timeout: float = 60.0
    total_timeout: float | None = None
    max_connections: int = 100
    max_keepalive_connections: int = 100
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP
    connect_retries: int = 2
    """How many times a request whose connection cannot be opened is reported retryable
    before the error says nothing answers at ``base_url`` (as for OpenAI)."""
    default_max_tokens: int = 8192
    """``max_tokens`` when the agent sets none (the Messages API requires one), capped by the
    model card's ``max_output_tokens``."""
    betas: tuple[str, ...] = ()
    extra_headers: Mapping[str, str] = field(factory=dict, repr=False)
    """Sent with every request; never logged."""

    def __attrs_post_init__(self) -> None:
        if self.connect_retries < 0:
            raise ConfigError(
                f"AnthropicSettings.connect_retries must be >= 0, not {self.connect_retries}"
            )
        if self.default_max_tokens < 1:
            raise ConfigError(
                "AnthropicSettings.default_max_tokens must be a positive number of tokens, not "
                f"{self.default_max_tokens!r}"
            )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> AnthropicSettings:
        """Settings from ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL`` (keyword overrides
        win)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            "api_key": env.get("ANTHROPIC_API_KEY") or None,
            "base_url": env.get("ANTHROPIC_BASE_URL") or ANTHROPIC_BASE_URL,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_official(self) -> bool:
        """Whether ``base_url`` is Anthropic's own API."""
        return is_official_url(self.base_url)

    @property
    def messages_url(self) -> str:
        """The Messages endpoint (``/v1/messages``; a base URL ending in ``/v1`` is accepted)."""
        base = self.base_url.rstrip("/")
        if base.endswith("/v1"):
            base = base[:-3]
        return f"{base}/v1/messages"


def is_official_url(url: str) -> bool:
    """Whether ``url`` points at api.anthropic.com."""
    return url.rstrip("/").startswith("https://api.anthropic.com")
