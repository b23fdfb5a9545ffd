"""Anthropic adapter: the Messages API callers (sync and async, on httpx2, no vendor SDK),
Claude model cards (in the shared catalog) and the typed API errors (the OpenAI callers' types).

Needs the ``anthropic`` extra: ``pip install "lllm-adapters[anthropic]"``."""

from lllm_adapters.extras import requires_extra

with requires_extra("anthropic", "lllm_adapters.anthropic"):
    from lllm_adapters.anthropic.caller import (
        AnthropicCaller,
        AsyncAnthropicCaller,
        generic_claude_card,
    )
    from lllm_adapters.anthropic.errors import error_from_status
    from lllm_adapters.anthropic.request import CACHE_PLACES, PROVIDER, THINKING_KEY
    from lllm_adapters.anthropic.settings import (
        ANTHROPIC_BASE_URL,
        ANTHROPIC_VERSION,
        AnthropicSettings,
    )

__all__ = [
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_VERSION",
    "CACHE_PLACES",
    "PROVIDER",
    "THINKING_KEY",
    "AnthropicCaller",
    "AnthropicSettings",
    "AsyncAnthropicCaller",
    "error_from_status",
    "generic_claude_card",
]
