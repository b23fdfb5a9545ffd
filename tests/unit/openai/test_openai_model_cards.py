"""The model catalog: knowledge cutoffs, input modalities, provenance, the cards it ships."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import pytest
from lllm_adapters.openai import ModelCatalog
from lllm_domain.errors import ConfigError

ORIGINAL_CONST = (
    "https://github.com/Productive-Superintelligence/lllm/blob/"
    "13305476d3f99f5bb8a8b80387d43adc27813723/lllm/const.py"
)


def test_cards_read_knowledge_cutoff_and_input_modalities() -> None:
    catalog = ModelCatalog.from_data(
        {
            "models": {
                "a": {"knowledge_cutoff": dt.date(2024, 9, 30), "input_modalities": ["text"]},
                "b": {"knowledge_cutoff": "2023-10-01", "input_modalities": ["text", "image"]},
            }
        }
    )
    a, b = catalog.card("a"), catalog.card("b")
    assert a.knowledge_cutoff == dt.date(2024, 9, 30) and not a.accepts("image")
    assert b.knowledge_cutoff == dt.date(2023, 10, 1) and b.accepts("image")
    assert ModelCatalog.from_data({"models": {"c": {}}}).card("c").input_modalities == ("text",)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"input_modalities": ["text", "smell"]}, r"model 'x'.*input_modalities must list some"),
        ({"input_modalities": []}, r"input_modalities must list some"),
        ({"knowledge_cutoff": "Sep 2024"}, r"model 'x'.*knowledge_cutoff must be a date"),
        ({"checked": 20261129}, r"checked must be a date"),
    ],
)
def test_bad_cutoffs_and_modalities_name_the_model_and_field(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        ModelCatalog.from_data({"models": {"x": fields}}, source="lllm.toml")


def test_the_catalog_ships_gpt_5_1_as_openai_publishes_it() -> None:
    card = ModelCatalog.builtin().card("gpt-5.1")
    assert card.model_id == "gpt-5.1-2025-11-13"
    assert (card.context_window, card.max_output_tokens) == (400_000, 128_000)
    price = card.pricing
    assert (price.input_per_million, price.cached_input_per_million) == (1.25, 0.125)
    assert price.output_per_million == 10.0
    assert card.knowledge_cutoff == dt.date(2024, 9, 30)
    assert card.input_modalities == ("text", "image")
    assert card.is_reasoning
    assert card.source == "https://developers.openai.com/zh-Hans/api/docs/models/gpt-5.1"
    assert card.checked == dt.date(2026, 11, 29)
    assert card.knows_only_before(dt.date(2024, 10, 1))
    assert not card.knows_only_before(dt.date(2024, 9, 30))


@pytest.mark.parametrize(
    ("name", "model_id", "prices"),
    [
        ("qwen3-next-80b-thinking", "Qwen/Qwen3-Next-80B-A3B-Thinking", (0.15, 1.5)),
        ("kimi-k2-thinking", "moonshotai/Kimi-K2-Thinking", (1.2, 4.0)),
        ("deepseek-v3.1", "deepseek-ai/DeepSeek-V3.1", (0.6, 1.7)),
        ("glm-4.6", "zai-org/GLM-4.6", (0.6, 2.2)),
        ("oss-20b", "openai/gpt-oss-20b", (0.05, 0.2)),
        ("oss-120b", "openai/gpt-oss-120b", (0.15, 0.6)),
    ],
)
def test_the_catalog_ships_the_originals_open_weight_models_for_compatible_servers(
    name: str, model_id: str, prices: tuple[float, float]
) -> None:
    card = ModelCatalog.builtin().card(name)
    assert card.model_id == model_id
    assert card.base_url == "https://api.together.xyz/v1"
    assert card.api_key_env == "TOGETHER_API_KEY"
    assert (card.pricing.input_per_million, card.pricing.output_per_million) == prices
    assert card.pricing.cached_input_per_million == prices[0]
    assert card.source == ORIGINAL_CONST and card.checked is None
    assert card.allowed_args == ()  # the server decides


PROVIDER_PAGES = {
    "anthropic": ("anthropic/model_cards.toml", "https://platform.claude.com/docs/"),
}
"""Where each provider's cards live and publish their values (others: the OpenAI file)."""


def test_every_builtin_card_states_where_its_values_come_from() -> None:
    catalog = ModelCatalog.builtin()
    for card in catalog:
        path, site = PROVIDER_PAGES.get(
            card.provider, ("openai/model_cards.toml", "https://developers.openai.com/")
        )
        text = resources.files("lllm_adapters").joinpath(path).read_text("utf-8")
        header = f'[models."{card.name}"]'
        before = text[: text.index(header)]
        comment = before[before.rstrip().rfind("\n\n") :]
        if card.provider == "anthropic":
            # Every Claude card names the official page its values were read on, and the day.
            assert card.source and card.source.startswith(site), f"{card.name}: no source"
            assert card.checked is not None, f"{card.name}: no date the source was read"
        if "NOT VERIFIED" in comment:
            # Partly confirmed: the comment says which values; no cutoff nobody checked.
            assert card.knowledge_cutoff is None, f"{card.name}: a cutoff nobody checked"
            continue
        # Verified against the provider's own page, which gives the knowledge cutoff too.
        assert card.checked is not None, f"{card.name}: no provenance stated"
        assert card.source and card.source.startswith(site), card.name
        assert card.knowledge_cutoff is not None, card.name
