"""Token usage and money."""

from __future__ import annotations

from attrs import define


@define(frozen=True, slots=True)
class Usage:
    """Tokens one model request consumed, as the provider reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    """Part of ``input_tokens`` served from the provider's prompt cache."""
    reasoning_tokens: int = 0
    """Part of ``output_tokens`` spent on hidden reasoning."""
    cache_write_tokens: int = 0
    """Part of ``input_tokens`` written to the provider's prompt cache (Anthropic bills these
    above ordinary input; OpenAI reports none)."""
    cache_write_1h_tokens: int = 0
    """Part of ``cache_write_tokens`` written with a one-hour lifetime (billed higher still)."""

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.cache_write_1h_tokens + other.cache_write_1h_tokens,
        )


@define(frozen=True, slots=True)
class Cost:
    """Money spent on one or more requests, in US dollars, split by token kind."""

    input_usd: float = 0.0
    cached_input_usd: float = 0.0
    output_usd: float = 0.0
    cache_write_usd: float = 0.0
    """What writing input to the provider's prompt cache cost (Anthropic)."""

    @property
    def total_usd(self) -> float:
        """The whole cost."""
        return self.input_usd + self.cached_input_usd + self.output_usd + self.cache_write_usd

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.input_usd + other.input_usd,
            self.cached_input_usd + other.cached_input_usd,
            self.output_usd + other.output_usd,
            self.cache_write_usd + other.cache_write_usd,
        )


ZERO_USAGE = Usage()
ZERO_COST = Cost()
