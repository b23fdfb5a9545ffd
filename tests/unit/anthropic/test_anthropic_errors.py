"""The error policy of the Anthropic callers, the settings, and the Claude cards in the shared
catalog, with no network."""

from __future__ import annotations

import pytest
from lllm_adapters.anthropic import AnthropicSettings, error_from_status
from lllm_adapters.anthropic.stream import MessagesStreamAssembler
from lllm_adapters.openai import APIStatusError, InvalidResponseError, ModelCatalog, RateLimitError
from lllm_domain.errors import ConfigError
from lllm_domain.usage import Usage

from tests.support.anthropic_server import message, message_stream_events

BODY = b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}'


def test_529_is_retryable_and_carries_the_error_type() -> None:
    err = error_from_status(529, {"request-id": "req_1"}, BODY, where="W")
    assert isinstance(err, APIStatusError) and not isinstance(err, RateLimitError)
    assert (err.retryable, err.status, err.code) == (True, 529, "overloaded_error")
    assert "W returned HTTP 529: overloaded_error: Overloaded" in str(err)
    assert "req_1" in str(err)


def test_a_body_that_is_not_an_error_envelope_is_quoted() -> None:
    err = error_from_status(502, {}, b"<html>Bad gateway</html>", where="W")
    assert err.retryable and "<html>Bad gateway</html>" in str(err) and err.code is None


def test_settings_from_the_environment_hide_the_key() -> None:
    settings = AnthropicSettings.from_env(
        {"ANTHROPIC_API_KEY": "sk-ant-SECRET", "ANTHROPIC_BASE_URL": "http://gw.local/v1"}
    )
    assert settings.api_key == "sk-ant-SECRET" and "SECRET" not in repr(settings)
    assert settings.messages_url == "http://gw.local/v1/messages"
    assert not settings.is_official
    default = AnthropicSettings.from_env({})
    assert default.is_official and default.messages_url == "https://api.anthropic.com/v1/messages"


def test_settings_refuse_a_nonsense_default_max_tokens() -> None:
    with pytest.raises(ConfigError, match="default_max_tokens"):
        AnthropicSettings(default_max_tokens=0)


def test_claude_cards_are_in_the_shared_catalog_with_cache_prices() -> None:
    catalog = ModelCatalog.builtin()
    card = catalog.card("claude-haiku-4-5")
    assert card.provider == "anthropic" and card.model_id == "claude-haiku-4-5-20251001"
    assert catalog.card("claude-haiku-4-5-20251001").name == "claude-haiku-4-5-20251001"
    price = card.pricing
    assert (
        price.input_per_million,
        price.cache_write_per_million,
        price.cache_write_1h_per_million,
        price.cached_input_per_million,
        price.output_per_million,
    ) == (1.0, 1.25, 2.0, 0.1, 5.0)
    assert "logprobs" not in card.features
    for claude in (c for c in catalog if c.provider == "anthropic"):
        assert claude.pricing.cache_write_per_million is not None, claude.name
        assert claude.source and claude.source.startswith("https://platform.claude.com/")


def test_a_project_card_may_price_cache_writes() -> None:
    catalog = ModelCatalog.builtin().extended(
        {"my-claude": {"provider": "anthropic", "pricing": {"input": 2, "cache_write": 2.5}}}
    )
    assert catalog.card("my-claude").pricing.cache_write_per_million == 2.5
    with pytest.raises(ConfigError, match="cache_write_2h"):
        ModelCatalog.builtin().extended({"x": {"pricing": {"cache_write_2h": 1}}})


def test_the_stream_assembler_needs_message_stop() -> None:
    events = message_stream_events(message("hi", usage=(5, 2, 1, 3)))
    assembler = MessagesStreamAssembler(None, "W")
    import json

    for event in events[:-1]:
        assembler.feed(json.dumps(event))
    assert not assembler.done and "message_stop" in assembler.missing
    assembler.feed(json.dumps(events[-1]))
    assert assembler.done
    reply = assembler.reply()
    assert reply.text == "hi" and reply.usage == Usage(9, 2, 3, 0, 1)


def test_garbage_in_a_stream_is_an_invalid_response() -> None:
    with pytest.raises(InvalidResponseError) as info:
        MessagesStreamAssembler(None, "W").feed("{not json")
    assert info.value.retryable is True
