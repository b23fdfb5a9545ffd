"""OpenAI adapters: Chat Completions and Responses API callers (sync and async, on httpx2),
OpenAI-compatible servers, model cards as data, and the typed API errors.

Needs the ``openai`` extra: ``pip install "lllm-adapters[openai]"``."""

from lllm_adapters.extras import requires_extra

with requires_extra("openai", "lllm_adapters.openai"):
    from lllm_adapters.api_errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        InvalidResponseError,
        OutputTruncatedError,
        RateLimitError,
        RefusalError,
        RetryDelayTooLongError,
        StreamInterruptedError,
        parse_retry_after,
    )
    from lllm_adapters.openai.caller import AsyncOpenAICaller, OpenAICaller
    from lllm_adapters.openai.catalog import ModelCatalog, generic_card
    from lllm_adapters.openai.errors import error_from_status
    from lllm_adapters.openai.settings import OPENAI_BASE_URL, OpenAISettings

__all__ = [
    "OPENAI_BASE_URL",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncOpenAICaller",
    "InvalidResponseError",
    "ModelCatalog",
    "OpenAICaller",
    "OpenAISettings",
    "OutputTruncatedError",
    "RateLimitError",
    "RefusalError",
    "RetryDelayTooLongError",
    "StreamInterruptedError",
    "error_from_status",
    "generic_card",
    "parse_retry_after",
]
