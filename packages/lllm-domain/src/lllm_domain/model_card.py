"""Model cards: what a model endpoint can do and what it costs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from attrs import define, field

from lllm_domain.errors import ConfigError
from lllm_domain.usage import Cost, Usage


@define(frozen=True, slots=True)
class Pricing:
    """Prices in US dollars per million tokens."""

    input_per_million: float = 0.0
    cached_input_per_million: float | None = None
    """``None`` means cached input is billed like ordinary input."""
    output_per_million: float = 0.0
    cache_write_per_million: float | None = None
    """Writing input to the prompt cache (Anthropic's five-minute writes); ``None`` means
    such writes are billed like ordinary input."""
    cache_write_1h_per_million: float | None = None
    """One-hour cache writes; ``None`` means like ``cache_write_per_million``."""
    long_prompt: LongPromptPricing | None = None
    """Other rates for a request whose prompt is longer than a threshold (Claude Haiku 5.5);
    ``None`` means one set of rates whatever the prompt's length."""

    def for_prompt(self, prompt_tokens: int) -> Pricing:
        """The rates one request pays, given its prompt length in tokens (uncached input, cache
        reads and cache writes together): the long-prompt rates when the prompt is over their
        threshold, else these."""
        tier = self.long_prompt
        if tier is not None and prompt_tokens > tier.over_tokens:
            return tier.rates
        return self


@define(frozen=True, slots=True)
class LongPromptPricing:
    """The rates of a request whose prompt is over ``over_tokens`` tokens.

    Anthropic bills Claude Haiku 5.5 this way: a request whose prompt (input, cache reads and
    cache writes together) is over 100,000 tokens pays the higher rates on *every* token of that
    request, output included, not only on the tokens past the threshold. So the tier is chosen
    per request, never for a sum of requests.
    """

    over_tokens: int
    """The threshold: a prompt of more tokens than this pays :attr:`rates`."""
    rates: Pricing
    """The whole set of rates for such a request (it has no long-prompt tier of its own)."""


MODALITIES = frozenset({"text", "image", "audio", "video"})
"""The input modalities a card may list."""


@define(frozen=True, slots=True)
class ModelCard:
    """Everything LLLM knows about one model.

    ``features`` are capability names such as ``"tools"``, ``"structured_output"``,
    ``"logprobs"``, ``"reasoning"``, ``"web_search"``, ``"computer_use"``, ``"mcp"``,
    ``"vision"``, ``"streaming"``. ``allowed_args`` lists the request arguments the model accepts;
    an empty tuple means "do not check".
    """

    name: str
    provider: str = "openai"
    base_url: str | None = None
    api_key_env: str | None = None
    features: frozenset[str] = frozenset()
    snapshots: tuple[str, ...] = ()
    """Dated snapshots, oldest first; the latest is used."""
    context_window: int | None = None
    max_output_tokens: int | None = None
    pricing: Pricing = field(factory=Pricing)
    allowed_args: tuple[str, ...] = ()
    encoding: str | None = None
    """The tokenizer encoding (tiktoken name)."""
    api_types: tuple[str, ...] = ("completion",)
    """Which API styles the model speaks: ``completion`` and/or ``response``."""
    knowledge_cutoff: dt.date | None = None
    """The last day the model's training data covers, as the provider publishes it (OpenAI's
    "Sep 30, 2024 knowledge cutoff" is ``2024-09-30``). The original LLLM stored the day
    after; see :meth:`knows_only_before`."""
    input_modalities: tuple[str, ...] = ("text",)
    """What the model accepts as input: ``text``, ``image``, ``audio``, ``video``."""
    source: str | None = None
    """Where the card's prices, limits and snapshots were read (a URL)."""
    checked: dt.date | None = None
    """The day they were checked against ``source``."""

    @property
    def model_id(self) -> str:
        """The identifier to send to the API: the latest snapshot, else the name."""
        return self.snapshots[-1] if self.snapshots else self.name

    @property
    def is_reasoning(self) -> bool:
        """Reasoning models accept only the default temperature."""
        return "reasoning" in self.features

    def supports(self, feature: str) -> bool:
        """Whether the card advertises ``feature``."""
        return feature in self.features

    def accepts(self, modality: str) -> bool:
        """Whether the model takes ``modality`` (``text``, ``image``, ...) as input."""
        return modality in self.input_modalities

    def knows_only_before(self, cutoff: dt.date) -> bool:
        """Whether everything the model was trained on predates ``cutoff``, by the proxies'
        cutoff rule (data dated before the cutoff day): a back-test with that cutoff cannot be
        spoiled by the model's own knowledge. ``False`` when the knowledge cutoff is unknown.
        """
        if self.knowledge_cutoff is None:
            return False
        day = cutoff.date() if isinstance(cutoff, dt.datetime) else cutoff
        return self.knowledge_cutoff < day

    def cost(self, usage: Usage) -> Cost:
        """The cost of one request's ``usage`` at this card's prices.

        The request's prompt length (``usage.input_tokens``, which counts cache reads and writes
        too) picks the rates when the card has a long-prompt tier; price each request on its own
        and add the costs, rather than pricing summed usage.
        """
        price = self.pricing.for_prompt(usage.input_tokens)
        cached_price = (
            price.cached_input_per_million
            if price.cached_input_per_million is not None
            else price.input_per_million
        )
        write_price = (
            price.cache_write_per_million
            if price.cache_write_per_million is not None
            else price.input_per_million
        )
        write_1h_price = (
            price.cache_write_1h_per_million
            if price.cache_write_1h_per_million is not None
            else write_price
        )
        writes_1h = min(usage.cache_write_1h_tokens, usage.cache_write_tokens)
        writes = usage.cache_write_tokens - writes_1h
        uncached = max(usage.input_tokens - usage.cached_input_tokens - usage.cache_write_tokens, 0)
        return Cost(
            input_usd=uncached * price.input_per_million / 1_000_000,
            cached_input_usd=usage.cached_input_tokens * cached_price / 1_000_000,
            output_usd=usage.output_tokens * price.output_per_million / 1_000_000,
            cache_write_usd=(writes * write_price + writes_1h * write_1h_price) / 1_000_000,
        )

    def check_args(self, args: Mapping[str, Any]) -> None:
        """Raise :class:`ConfigError` for any argument the model does not accept.

        Runs before any request is sent, so a typo costs nothing.
        """
        if not self.allowed_args:
            return
        wrong = sorted(set(args) - set(self.allowed_args))
        if wrong:
            raise ConfigError(
                f"model {self.name!r} does not accept argument(s) {', '.join(map(repr, wrong))}; "
                f"allowed: {', '.join(self.allowed_args)}. Remove them from the agent's model args "
                "or add them to the model card's allowed_args."
            )
