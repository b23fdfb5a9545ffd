"""Connection settings of the OpenAI callers: endpoint, key, timeouts, pool size."""

from __future__ import annotations

from collections.abc import Mapping

from attrs import define, field
from lllm_domain.errors import ConfigError

from lllm_adapters.api_errors import DEFAULT_RETRY_AFTER_CAP
from lllm_adapters.http_caller import settings_from_env

OPENAI_BASE_URL = "https://api.openai.com/v1"
"""The official endpoint; any other base URL is an OpenAI-compatible server."""


@define(frozen=True, slots=True)
class OpenAISettings:
    """Where and how the callers reach an OpenAI(-compatible) API.

    The API key is never shown in ``repr``, errors or logs. Timeouts are in seconds:
    ``connect_timeout`` to open a connection, ``read_timeout`` between two received chunks and
    ``total_timeout`` (optional) for a whole request including a streamed body.
    ``stream_silence_warning`` logs the warning ``openai.stream_silent`` each time a stream has
    sent nothing for that many more seconds while it waits for ``read_timeout`` (``None``: never).
    ``retry_after_cap`` bounds a server-requested delay: above it the caller fails with the
    requested delay instead of asking the state machine to sleep for minutes.
    """

    api_key: str | None = field(default=None, repr=False)
    base_url: str = OPENAI_BASE_URL
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    write_timeout: float = 60.0
    total_timeout: float | None = None
    stream_silence_warning: float | None = 60.0
    max_connections: int = 100
    max_keepalive_connections: int = 100
    retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP
    connect_retries: int = 2
    """How many times a request whose connection cannot be opened at all (refused, unknown
    host: nothing answers at ``base_url``) is reported retryable; the next failure is not
    retryable and names the URL, so a dead endpoint fails in about 1.5 s rather than after the
    retry policy's 6 retries (about 30 s). 2, as the OpenAI SDK. Rate limits, 5xx, timeouts
    and dropped connections keep the agent's retry policy."""
    extra_headers: Mapping[str, str] = field(factory=dict, repr=False)
    """Sent with every request (e.g. ``OpenAI-Organization``); never logged."""

    def __attrs_post_init__(self) -> None:
        if self.connect_retries < 0:
            raise ConfigError(
                f"OpenAISettings.connect_retries must be >= 0, not {self.connect_retries}"
            )
        warn = self.stream_silence_warning
        if warn is not None and not warn > 0:
            raise ConfigError(
                f"OpenAISettings.stream_silence_warning must be a number of seconds above 0 or "
                f"None (no warning), not {warn!r}"
            )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> OpenAISettings:
        """Settings from ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL`` (keyword overrides win)."""
        return settings_from_env(
            cls,
            environ,
            overrides,
            key_variable="OPENAI_API_KEY",
            url_variable="OPENAI_BASE_URL",
            default_url=OPENAI_BASE_URL,
        )

    @property
    def is_official(self) -> bool:
        """Whether ``base_url`` is OpenAI's own API."""
        return is_official_url(self.base_url)


def is_official_url(url: str) -> bool:
    """Whether ``url`` points at api.openai.com."""
    return url.rstrip("/").startswith("https://api.openai.com")
