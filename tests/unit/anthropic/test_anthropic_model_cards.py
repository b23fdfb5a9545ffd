"""The built-in Claude cards (current models, Haiku 5.5's prompt-length tiers) and the TOML
schema of a long-prompt tier."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from lllm_adapters.openai import ModelCatalog
from lllm_domain.errors import ConfigError
from lllm_domain.model_card import LongPromptPricing, Pricing
from lllm_domain.usage import Usage


def _rates(price: Pricing) -> tuple[float | None, ...]:
    return (
        price.input_per_million,
        price.cache_write_per_million,
        price.cache_write_1h_per_million,
        price.cached_input_per_million,
        price.output_per_million,
    )


@pytest.mark.parametrize(
    ("name", "rates"),
    [
        # (input, 5-minute write, 1-hour write, cache read, output), US dollars per MTok.
        ("claude-fable-5-1", (10.0, 12.5, 20.0, 0.25, 50.0)),
        ("claude-fable-5", (10.0, 12.5, 20.0, 1.0, 50.0)),
        ("claude-opus-5-5", (4.0, 5.0, 8.0, 0.2, 20.0)),
        ("claude-sonnet-5-5", (2.0, 2.5, 4.0, 0.1, 10.0)),
        ("claude-haiku-5-5", (0.1, 0.125, 0.2, 0.01, 0.5)),
    ],
)
def test_the_catalog_ships_the_current_claude_models(name: str, rates: tuple[float, ...]) -> None:
    card = ModelCatalog.builtin().card(name)
    assert card.provider == "anthropic" and card.model_id == name
    assert (card.context_window, card.max_output_tokens) == (1_000_000, 128_000)
    assert _rates(card.pricing) == rates
    assert {"thinking", "adaptive_thinking", "prompt_caching", "tools"} <= card.features
    assert card.checked == dt.date(2026, 11, 29)


def test_haiku_5_5_prices_a_long_prompt_at_its_higher_rates() -> None:
    card = ModelCatalog.builtin().card("claude-haiku-5-5")
    tier = card.pricing.long_prompt
    assert tier is not None and tier.over_tokens == 100_000
    assert _rates(tier.rates) == (0.5, 0.625, 1.0, 0.05, 2.5)
    short = card.cost(Usage(input_tokens=100_000, output_tokens=1_000_000))
    long = card.cost(Usage(input_tokens=100_001, output_tokens=1_000_000))
    assert short.output_usd == pytest.approx(0.5)
    assert long.output_usd == pytest.approx(2.5)
    assert long.input_usd == pytest.approx(100_001 * 0.5 / 1e6)
    # No other built-in card has prompt-length tiers.
    tiered = [c.name for c in ModelCatalog.builtin() if c.pricing.long_prompt is not None]
    assert tiered == ["claude-haiku-5-5"]


def test_a_long_prompt_tier_is_read_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "cards.toml"
    path.write_text(
        '[models."my-claude"]\n'
        'provider = "anthropic"\n'
        "pricing = { input = 1, output = 5, long_prompt = "
        "{ over_tokens = 200000, input = 2, output = 10, cached_input = 0.2 } }\n",
        encoding="utf-8",
    )
    card = ModelCatalog.from_toml(path).card("my-claude")
    assert card.pricing.long_prompt == LongPromptPricing(
        over_tokens=200_000,
        rates=Pricing(input_per_million=2.0, output_per_million=10.0, cached_input_per_million=0.2),
    )
    # A project override of the ordinary rates keeps a built-in card's tier.
    catalog = ModelCatalog.builtin().extended({"claude-haiku-5-5": {"pricing": {"input": 0.2}}})
    price = catalog.card("claude-haiku-5-5").pricing
    assert price.input_per_million == 0.2
    assert price.long_prompt is not None and price.long_prompt.over_tokens == 100_000


@pytest.mark.parametrize(
    ("long_prompt", "message"),
    [
        ("cheap", r"pricing\.long_prompt must be a table"),
        ({"over_tokens": 10, "input": 1, "output": 2, "batch": 1}, r"unknown key\(s\) \['batch'\]"),
        ({"input": 1, "output": 2}, r"lacks \['over_tokens'\]"),
        ({"over_tokens": 10, "input": 1}, r"lacks \['output'\]"),
        ({"over_tokens": 0, "input": 1, "output": 2}, r"over_tokens must be a positive whole"),
        ({"over_tokens": 1.5, "input": 1, "output": 2}, r"over_tokens must be a positive whole"),
        ({"over_tokens": True, "input": 1, "output": 2}, r"over_tokens must be a positive whole"),
        ({"over_tokens": 10, "input": -1, "output": 2}, r"long_prompt\.input must be a non-neg"),
        (
            {"over_tokens": 10, "input": 1, "output": 2, "long_prompt": {}},
            r"unknown key\(s\) \['long_prompt'\]",
        ),
    ],
)
def test_a_bad_long_prompt_tier_names_the_file_model_and_key(
    tmp_path: Path, long_prompt: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        ModelCatalog.from_data(
            {"models": {"my-claude": {"pricing": {"input": 1, "long_prompt": long_prompt}}}},
            source="lllm.toml",
        )
    assert "lllm.toml: model 'my-claude'" in str(caught.value)
