"""Building Messages API request bodies, with no network: turns, tools, choices, limits,
caching, structured output, and what the adapter refuses before sending anything."""

from __future__ import annotations

from typing import Any

import pytest
from lllm_adapters.anthropic.request import messages_body
from lllm_adapters.openai import ModelCatalog
from lllm_domain.errors import ConfigError, UnsupportedFeatureError
from lllm_domain.function import Function, MCPServer
from lllm_domain.message import Message, Role, system_message, user_message
from lllm_domain.request import LLMRequest

CARD = ModelCatalog.builtin().card("claude-sonnet-4-5")
WEATHER = Function("get_weather", "The weather", {"city": {"type": "string"}}, ("city",))


def body(*messages: Message, **kwargs: Any) -> dict[str, Any]:
    req = LLMRequest(messages or (user_message("hi"),), CARD.name, **kwargs)
    return messages_body(req, CARD, default_max_tokens=1000, stream=False)


def test_system_messages_go_to_the_top_level_and_same_side_turns_merge() -> None:
    sent = body(system_message("A"), system_message("B"), user_message("x"), user_message("y"))
    assert sent["system"] == [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]
    assert sent["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}]}
    ]


def test_tool_results_open_the_user_turn_that_answers_the_calls() -> None:
    from lllm_domain.message import FunctionCall

    turn = Message(Role.TOOL_CALL, "", "a", function_calls=(FunctionCall("t1", "f", {"a": 1}),))
    note = user_message("also this")
    result = Message(Role.TOOL, "done", "function", tool_call_id="t1")
    sent = body(user_message("go"), turn, note, result)
    assert [b["type"] for b in sent["messages"][2]["content"]] == ["tool_result", "text"]


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "tool", "name": "get_weather"},
        ),
        ({"type": "tool", "name": "get_weather"}, {"type": "tool", "name": "get_weather"}),
    ],
)
def test_tool_choice_is_translated(given: object, sent: dict[str, Any]) -> None:
    assert body(tools=(WEATHER,), model_args={"tool_choice": given})["tool_choice"] == sent


def test_a_tool_choice_it_cannot_read_names_the_model() -> None:
    with pytest.raises(ConfigError, match=r"claude-sonnet-4-5.*tool_choice"):
        body(tools=(WEATHER,), model_args={"tool_choice": 3})


def test_parallel_tool_calls_false_disables_parallel_tool_use() -> None:
    sent = body(tools=(WEATHER,), model_args={"parallel_tool_calls": False})
    assert sent["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_openai_style_arguments_are_renamed() -> None:
    sent = body(model_args={"max_completion_tokens": 50, "stop": "END", "user": "u-1", "top_k": 5})
    assert (sent["max_tokens"], sent["stop_sequences"], sent["metadata"], sent["top_k"]) == (
        50,
        ["END"],
        {"user_id": "u-1"},
        5,
    )
    assert "max_completion_tokens" not in sent and "stop" not in sent


def test_the_default_max_tokens_is_capped_by_the_card() -> None:
    req = LLMRequest((user_message("hi"),), CARD.name)
    sent = messages_body(req, CARD, default_max_tokens=10**6, stream=True)
    assert sent["max_tokens"] == CARD.max_output_tokens and sent["stream"] is True


def test_an_argument_the_card_does_not_accept_fails_before_sending() -> None:
    with pytest.raises(ConfigError, match="frequency_penalty"):
        body(model_args={"frequency_penalty": 1})


@pytest.mark.parametrize(
    ("kwargs", "feature"),
    [
        ({"model_args": {"logprobs": True, "top_logprobs": 5}}, "logprob classification"),
        ({"model_args": {"logit_bias": {"1": 5}}}, "logprob classification"),
        ({"allow_web_search": True}, "hosted web search"),
        ({"mcp_servers": (MCPServer("docs", "https://example.invalid/mcp"),)}, "hosted MCP"),
        ({"computer_use": {"display_width": 1024}}, "computer use"),
        ({"model_args": {"reasoning_effort": "high"}}, "reasoning"),
    ],
)
def test_openai_only_features_are_not_supported_by_this_provider(
    kwargs: dict[str, Any], feature: str
) -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        body(**kwargs)
    err = info.value
    assert feature in err.feature and err.model == "claude-sonnet-4-5"
    assert err.provider == "anthropic"
    assert "not supported by this provider" in str(err) and "claude-sonnet-4-5" in str(err)


def test_cache_control_marks_the_end_of_each_place() -> None:
    sent = body(
        system_message("rules"),
        user_message("hi"),
        tools=(WEATHER,),
        model_args={"cache_control": True},
    )
    mark = {"type": "ephemeral"}
    assert sent["system"][-1]["cache_control"] == mark
    assert sent["tools"][-1]["cache_control"] == mark
    assert sent["messages"][-1]["content"][-1]["cache_control"] == mark
    assert "cache_control" not in sent  # the argument itself is not sent


def test_cache_control_refuses_an_unknown_place() -> None:
    with pytest.raises(ConfigError, match=r"cache_control.*prefix"):
        body(model_args={"cache_control": ["system", "prefix"]})


def test_structured_output_with_thinking_leaves_the_choice_to_the_model() -> None:
    import attrs

    @attrs.define
    class Answer:
        value: int

    sent = body(output_format=Answer, model_args={"thinking": 1024})
    assert sent["tools"][-1]["name"] == "Answer" and "tool_choice" not in sent
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}


def test_a_non_object_schema_is_wrapped() -> None:
    sent = body(output_format={"title": "Numbers", "type": "array", "items": {"type": "integer"}})
    tool = sent["tools"][-1]
    assert tool["input_schema"]["type"] == "object"
    assert tool["input_schema"]["properties"]["value"]["type"] == "array"
    assert sent["tool_choice"] == {"type": "tool", "name": "Numbers"}


def test_a_model_that_thinks_by_default_is_not_forced_to_call_the_output_tool() -> None:
    sonnet5 = ModelCatalog.builtin().card("claude-sonnet-5")
    req = LLMRequest(
        (user_message("hi"),),
        sonnet5.name,
        output_format={"title": "Out", "type": "object", "properties": {}},
    )
    sent = messages_body(req, sonnet5, default_max_tokens=1000, stream=False)
    assert sent["tools"][-1]["name"] == "Out" and "tool_choice" not in sent


def test_a_tools_images_travel_inside_its_tool_result_after_its_text() -> None:
    from lllm_domain.message import FunctionCall, Image

    turn = Message(
        Role.TOOL_CALL,
        "",
        "a",
        function_calls=(FunctionCall("t1", "look", {}), FunctionCall("t2", "look", {})),
    )
    red, blue = Image("cmVk"), Image("Ymx1ZQ==", "image/jpeg")
    first = Message(Role.TOOL, "two", "function", tool_call_id="t1", images=(red, blue))
    second = Message(Role.TOOL, "", "function", tool_call_id="t2", images=(blue,))
    sent = body(user_message("go"), turn, first, second)
    results = sent["messages"][2]["content"]
    assert results[0] == {
        "type": "tool_result",
        "tool_use_id": "t1",
        "content": [
            {"type": "text", "text": "two"},
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": "cmVk"},
            },
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/jpeg", "data": "Ymx1ZQ=="},
            },
        ],
    }
    # No empty text block (the API refuses one): a result without text holds its images only.
    assert [b["type"] for b in results[1]["content"]] == ["image"]


def test_a_user_turn_sends_every_image_it_carries() -> None:
    from lllm_domain.message import Image

    message = Message(Role.USER, "look", "user", image=Image("YQ=="), images=(Image("Yg=="),))
    blocks = body(message)["messages"][0]["content"]
    assert [b["type"] for b in blocks] == ["image", "image", "text"]
    assert [b["source"]["data"] for b in blocks[:2]] == ["YQ==", "Yg=="]
