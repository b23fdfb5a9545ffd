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
        )


@define(frozen=True, slots=True)
class Cost:
    """Money spent on one or more requests, in US dollars, split by token kind."""

    input_usd: float = 0.0
    cached_input_usd: float = 0.0
    output_usd: float = 0.0

    @property
    def total_usd(self) -> float:
        """The whole cost."""
        return self.input_usd + self.cached_input_usd + self.output_usd

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.input_usd + other.input_usd,
            self.cached_input_usd + other.cached_input_usd,
            self.output_usd + other.output_usd,
        )


ZERO_USAGE = Usage()
ZERO_COST = Cost()
