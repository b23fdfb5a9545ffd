"""Model cards, limits, errors and the agent's own checks."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lllm_domain.agent import Agent
from lllm_domain.errors import ConfigError, LLMAPIError, ParseError
from lllm_domain.limits import CallLimits, RetryPolicy
from lllm_domain.model_card import LongPromptPricing, ModelCard, Pricing
from lllm_domain.request import LLMRequest
from lllm_domain.testing import ScriptedCaller, api_error, text
from lllm_domain.usage import Cost, Usage

from tests.support.domain_builders import SYSTEM_PROMPT, answer_prompt, make_agent

CARD = ModelCard(
    "gpt-test",
    features=frozenset({"tools", "reasoning"}),
    snapshots=("gpt-test-2024", "gpt-test-2025"),
    pricing=Pricing(input_per_million=2.0, cached_input_per_million=0.5, output_per_million=8.0),
    allowed_args=("temperature", "max_completion_tokens"),
)


def test_cost_prices_uncached_cached_and_output_tokens() -> None:
    cost = CARD.cost(
        Usage(input_tokens=1_000_000, output_tokens=500_000, cached_input_tokens=200_000)
    )
    assert cost.input_usd == pytest.approx(1.6)
    assert cost.cached_input_usd == pytest.approx(0.1)
    assert cost.output_usd == pytest.approx(4.0)
    assert cost.total_usd == pytest.approx(5.7)
    plain = ModelCard("m", pricing=Pricing(input_per_million=2.0))
    assert plain.cost(Usage(1_000_000, 0, 250_000)).total_usd == pytest.approx(2.0)
    assert ModelCard("free").cost(Usage(10, 10)) == Cost()


def test_cost_prices_cache_writes_apart_from_ordinary_input() -> None:
    # Anthropic's way: writes to the prompt cache cost more than input, one-hour writes more
    # still; both are parts of input_tokens, like cache reads.
    card = ModelCard(
        "claude-test",
        pricing=Pricing(
            input_per_million=3.0,
            cached_input_per_million=0.3,
            output_per_million=15.0,
            cache_write_per_million=3.75,
            cache_write_1h_per_million=6.0,
        ),
    )
    usage = Usage(
        input_tokens=1_000_000,
        output_tokens=0,
        cached_input_tokens=500_000,
        cache_write_tokens=300_000,
        cache_write_1h_tokens=100_000,
    )
    cost = card.cost(usage)
    assert cost.input_usd == pytest.approx(0.2 * 3.0)
    assert cost.cached_input_usd == pytest.approx(0.5 * 0.3)
    assert cost.cache_write_usd == pytest.approx(0.2 * 3.75 + 0.1 * 6.0)
    assert cost.total_usd == pytest.approx(0.6 + 0.15 + 0.75 + 0.6)
    assert (cost + cost).cache_write_usd == pytest.approx(2 * cost.cache_write_usd)
    assert (usage + usage).cache_write_1h_tokens == 200_000
    # Without a cache-write price, writes cost what input costs.
    plain = ModelCard("m", pricing=Pricing(input_per_million=2.0))
    assert plain.cost(Usage(1_000_000, 0, cache_write_tokens=400_000)).total_usd == pytest.approx(
        2.0
    )


def test_card_properties() -> None:
    assert CARD.model_id == "gpt-test-2025"
    assert ModelCard("plain").model_id == "plain"
    assert CARD.is_reasoning and CARD.supports("tools") and not CARD.supports("vision")


def test_check_args_names_the_wrong_argument_and_the_allowed_ones() -> None:
    CARD.check_args({"temperature": 1})
    with pytest.raises(ConfigError) as info:
        CARD.check_args({"temperature": 1, "top_p": 0.5, "seed": 3})
    message = str(info.value)
    assert "'seed', 'top_p'" in message
    assert "allowed: temperature, max_completion_tokens" in message
    ModelCard("open").check_args({"anything": 1})


def test_scripted_caller_prices_usage_with_the_card() -> None:
    caller = ScriptedCaller([text("x" * 40)], model_card=CARD)
    reply = caller.call(LLMRequest(messages=(), model="gpt-test"))
    assert reply.usage == Usage(1, 10)
    assert reply.cost == CARD.cost(Usage(1, 10))


def test_agent_rejects_unknown_api_type_and_callers_without_the_method() -> None:
    with pytest.raises(ConfigError, match="api_type must be 'completion' or 'response'"):
        Agent("a", SYSTEM_PROMPT, "m", ScriptedCaller(), api_type="chat")

    class SyncOnly:
        def call(self, request: LLMRequest) -> Any:
            raise AssertionError("not called")

    class AsyncOnly:
        async def acall(self, request: LLMRequest) -> Any:
            raise AssertionError("not called")

    sync_agent = Agent("a", SYSTEM_PROMPT, "m", SyncOnly())
    with pytest.raises(ConfigError, match="has no async acall"):
        asyncio.run(sync_agent.acall(sync_agent.init_dialog()))
    async_agent = Agent("a", SYSTEM_PROMPT, "m", AsyncOnly())
    with pytest.raises(ConfigError, match="has no sync call"):
        async_agent.call(async_agent.init_dialog())


def test_init_dialog_renders_the_system_prompt() -> None:
    agent, _, _ = make_agent()
    dialog = agent.init_dialog(session="s9")
    assert dialog.session == "s9"
    assert dialog.agent_name == "tester"
    assert dialog.top_prompt is None
    assert dialog.system_message is not None
    assert dialog.system_message.content == SYSTEM_PROMPT.template
    assert dialog.dialog_id == "d-1"


def test_streaming_passes_deltas_and_response_api_type_reaches_the_request() -> None:
    agent, caller, _ = make_agent(["<answer>a b</answer>"])
    deltas: list[str] = []
    agent.call(agent.init_dialog(), answer_prompt(), {"question": "q"}, on_delta=deltas.append)
    assert "".join(deltas) == "<answer>a b</answer>"
    assert len(deltas) == 2
    assert caller.requests[0].stream
    agent.api_type = "response"
    caller.push("<answer>x</answer>")
    agent.call(agent.init_dialog(), answer_prompt(), {"question": "q"})
    assert caller.requests[1].api_type == "response"
    assert not caller.requests[1].stream


def test_limits_validate_their_values() -> None:
    with pytest.raises(ConfigError, match="max_interrupt_times must be >= 0"):
        CallLimits(max_interrupt_times=-1)
    with pytest.raises(ConfigError, match="jitter"):
        RetryPolicy(jitter=1.5)
    with pytest.raises(ConfigError):
        RetryPolicy(max_attempts=-1)


def test_errors_describe_themselves() -> None:
    error = api_error(429, retry_after=3)
    assert error.retryable
    assert error.describe() == {
        "type": "LLMAPIError",
        "message": "scripted HTTP 429",
        "retryable": True,
        "status": 429,
        "retry_after": 3,
        "code": None,
    }
    assert not api_error(400).retryable
    assert api_error(400, retryable=True).retryable
    assert isinstance(LLMAPIError("x", retryable=False), Exception)
    assert str(ConfigError("bad key", file="lllm.toml", line=3)) == "lllm.toml:3: bad key"
    assert str(ConfigError("bad", file="f.yaml")) == "f.yaml: bad"
    assert ParseError(["a", "b"]).problems == ("a", "b")
    assert ParseError("one").problems == ("one",)


def test_knowledge_cutoff_tells_whether_a_back_test_cutoff_is_safe() -> None:
    import datetime as dt

    card = ModelCard("m", knowledge_cutoff=dt.date(2024, 9, 30))
    # The published cutoff day is known to the model; the proxies keep data dated before
    # their cutoff, so the model adds nothing from the future only from the next day on.
    assert card.knows_only_before(dt.date(2024, 10, 1))
    assert not card.knows_only_before(dt.date(2024, 9, 30))
    assert not ModelCard("unknown").knows_only_before(dt.date(2030, 1, 1))


def test_input_modalities_default_to_text() -> None:
    assert ModelCard("m").input_modalities == ("text",)
    assert ModelCard("m", input_modalities=("text", "image")).accepts("image")
    assert not ModelCard("m").accepts("image")


def _tiered_card() -> ModelCard:
    # Shaped like Claude Haiku 5.5: every token of a request whose prompt is over 100,000
    # tokens pays the long-prompt rates.
    long_rates = Pricing(
        input_per_million=0.5,
        cached_input_per_million=0.05,
        output_per_million=2.5,
        cache_write_per_million=0.625,
        cache_write_1h_per_million=1.0,
    )
    return ModelCard(
        "tiered",
        pricing=Pricing(
            input_per_million=0.1,
            cached_input_per_million=0.01,
            output_per_million=0.5,
            cache_write_per_million=0.125,
            cache_write_1h_per_million=0.2,
            long_prompt=LongPromptPricing(over_tokens=100_000, rates=long_rates),
        ),
    )


def test_a_prompt_up_to_the_threshold_pays_the_ordinary_rates() -> None:
    card = _tiered_card()
    # 100,000 prompt tokens exactly: 40,000 uncached, 50,000 cache reads, 10,000 cache writes
    # (4,000 of them one-hour); not *over* the threshold.
    usage = Usage(100_000, 20_000, 50_000, 0, 10_000, 4_000)
    cost = card.cost(usage)
    assert cost.input_usd == pytest.approx(40_000 * 0.1 / 1e6)
    assert cost.cached_input_usd == pytest.approx(50_000 * 0.01 / 1e6)
    assert cost.cache_write_usd == pytest.approx((6_000 * 0.125 + 4_000 * 0.2) / 1e6)
    assert cost.output_usd == pytest.approx(20_000 * 0.5 / 1e6)


def test_a_prompt_over_the_threshold_pays_the_long_rates_on_every_token() -> None:
    card = _tiered_card()
    # One token more, counting cache reads and writes: the whole request, output included,
    # pays the long-prompt rates.
    usage = Usage(100_001, 20_000, 50_000, 0, 10_000, 4_000)
    cost = card.cost(usage)
    assert cost.input_usd == pytest.approx(40_001 * 0.5 / 1e6)
    assert cost.cached_input_usd == pytest.approx(50_000 * 0.05 / 1e6)
    assert cost.cache_write_usd == pytest.approx((6_000 * 0.625 + 4_000 * 1.0) / 1e6)
    assert cost.output_usd == pytest.approx(20_000 * 2.5 / 1e6)
    # Cache reads alone can carry a short question over the threshold.
    mostly_cached = card.cost(Usage(150_000, 10, cached_input_tokens=149_990))
    assert mostly_cached.cached_input_usd == pytest.approx(149_990 * 0.05 / 1e6)
    # A card without a tier prices every prompt length alike.
    flat = ModelCard("flat", pricing=Pricing(input_per_million=1.0))
    assert flat.cost(Usage(5_000_000, 0)).input_usd == pytest.approx(5.0)
    assert flat.pricing.for_prompt(5_000_000) is flat.pricing
