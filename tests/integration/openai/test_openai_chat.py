"""The OpenAI callers against a real local HTTP server speaking the Chat Completions format."""

from __future__ import annotations

import attrs
import pytest
from lllm_adapters.openai import (
    OpenAICaller,
    OutputTruncatedError,
    RefusalError,
)
from lllm_domain.errors import ConfigError
from lllm_domain.function import Function
from lllm_domain.message import (
    FunctionCall,
    Image,
    Message,
    Modality,
    Role,
    system_message,
    user_message,
)
from lllm_domain.model_card import ModelCard
from lllm_domain.prompt import Prompt
from lllm_domain.request import LLMRequest
from lllm_domain.usage import Usage

from tests.integration.openai.conftest import TEST_KEY, CallFn, settings_for
from tests.support.openai_server import OpenAIServer, chat_completion

WEATHER = Function(
    "get_weather",
    "Weather for a city.",
    {"city": {"type": "string"}},
    ("city",),
    strict=True,
)


def ask(text: str = "hi", **kwargs: object) -> LLMRequest:
    return LLMRequest(
        (system_message("be brief"), user_message(text)),
        "gpt-4o",
        agent_name="tester",
        **kwargs,  # type: ignore[arg-type]
    )


def test_text_reply_and_request_shape(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(chat_completion("Hello!", usage=(100, 20, 40, 0)))
    message = call(ask(model_args={"temperature": 0.2, "max_completion_tokens": 50}))
    assert message.role is Role.ASSISTANT
    assert message.content == "Hello!"
    assert message.creator == "tester"
    assert message.usage == Usage(100, 20, 40, 0)
    assert message.model == "gpt-4o-2024-08-06"
    [req] = openai_server.requests
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == f"Bearer {TEST_KEY}"
    body = req.json
    assert body["model"] == "gpt-4o-2024-08-06"  # the latest snapshot on the card
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]
    assert body["temperature"] == 0.2
    assert body["max_completion_tokens"] == 50
    assert "stream" not in body


def test_cost_matches_the_model_card(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(chat_completion("x", usage=(1_000_000, 1_000_000, 400_000, 0)))
    message = call(ask())
    assert message.cost is not None
    # gpt-4o: $2.50 input, $1.25 cached input, $10 output per million tokens.
    assert message.cost.input_usd == pytest.approx(0.6 * 2.50)
    assert message.cost.cached_input_usd == pytest.approx(0.4 * 1.25)
    assert message.cost.output_usd == pytest.approx(10.0)


def test_tool_call_reply(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(
        chat_completion(None, tool_calls=[("call_9", "get_weather", '{"city": "Oslo"}')])
    )
    message = call(ask(tools=(WEATHER,)))
    assert message.role is Role.TOOL_CALL
    assert message.modality is Modality.FUNCTION_CALL
    assert message.content == ""
    [fc] = message.function_calls
    assert (fc.id, fc.name, dict(fc.arguments)) == ("call_9", "get_weather", {"city": "Oslo"})
    assert fc.arguments_error is None
    [tool] = openai_server.requests[0].json["tools"]
    assert tool == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }


def test_tool_arguments_that_are_not_json(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(
        chat_completion(None, tool_calls=[("call_1", "get_weather", '{"city": "Os')])
    )
    [fc] = call(ask(tools=(WEATHER,))).function_calls
    assert fc.arguments_error is not None
    assert fc.raw_arguments == '{"city": "Os'
    assert dict(fc.arguments) == {}
    # The domain turns it into an error result the model can read.
    assert "not valid JSON" in (WEATHER.link(lambda city: city).invoke(fc).error or "")


def test_tool_results_and_tool_call_turns_are_sent_back(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    openai_server.script(chat_completion("done"))
    fc = FunctionCall("call_1", "get_weather", {"city": "Oslo"}, raw_arguments='{"city":"Oslo"}')
    dialog = (
        user_message("weather?"),
        Message(Role.TOOL_CALL, "", "tester", Modality.FUNCTION_CALL, (fc,)),
        Message(Role.TOOL, "sunny", "function", tool_call_id="call_1"),
    )
    call(LLMRequest(dialog, "gpt-4o", tools=(WEATHER,)))
    messages = openai_server.requests[0].json["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
            }
        ],
    }
    assert messages[2] == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}


def test_image_messages_become_content_parts(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(chat_completion("a cat"))
    image = Message(
        Role.USER, "what is this?", "user", Modality.IMAGE, image=Image("QUJD", "image/jpeg", "low")
    )
    call(LLMRequest((image,), "gpt-4o"))
    [msg] = openai_server.requests[0].json["messages"]
    assert msg == {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is this?"},
            {
                "type": "image_url",
                "image_url": {"url": "data:image/jpeg;base64,QUJD", "detail": "low"},
            },
        ],
    }


@attrs.define(frozen=True)
class Verdict:
    label: str
    score: int


def test_structured_output(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(chat_completion('{"label": "spam", "score": 7}'))
    prompt = Prompt("classify", "Classify {text}", format=Verdict)
    message = call(ask(output_format=Verdict))
    assert prompt.parse(message.content) == Verdict("spam", 7)
    fmt = openai_server.requests[0].json["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "Verdict"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["required"] == ["label", "score"]


def test_logprobs_for_classification(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(chat_completion("A", logprobs=[("A", -0.1, [("A", -0.1), ("B", -2.4)])]))
    args = {
        "logprobs": True,
        "top_logprobs": 2,
        "logit_bias": {"32": 100, "33": 100},
        "max_completion_tokens": 1,
    }
    message = call(ask(model_args=args))
    [lp] = message.logprobs
    assert lp.token == "A" and lp.logprob == -0.1
    assert [(t.token, t.logprob) for t in lp.top] == [("A", -0.1), ("B", -2.4)]
    body = openai_server.requests[0].json
    assert body["logprobs"] is True and body["top_logprobs"] == 2
    assert body["logit_bias"] == {"32": 100, "33": 100}


def test_reasoning_model_forces_temperature_and_counts_reasoning_tokens(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    openai_server.script(chat_completion("42", model="o3-2025-04-16", usage=(10, 300, 0, 250)))
    message = call(LLMRequest((user_message("q"),), "o3", model_args={"temperature": 0.3}))
    assert openai_server.requests[0].json["temperature"] == 1
    assert message.usage is not None and message.usage.reasoning_tokens == 250


def test_wrong_argument_fails_before_any_request(call: CallFn, openai_server: OpenAIServer) -> None:
    with pytest.raises(ConfigError, match="temprature"):
        call(ask(model_args={"temprature": 0.1}))
    assert openai_server.requests == []


def test_refusal_is_a_typed_error(call: CallFn, openai_server: OpenAIServer) -> None:
    openai_server.script(chat_completion(None, refusal="I can't help with that."))
    with pytest.raises(RefusalError) as info:
        call(ask())
    assert info.value.retryable is False
    assert info.value.refusal == "I can't help with that."


def test_length_is_a_typed_error_keeping_the_partial_reply(
    call: CallFn, openai_server: OpenAIServer
) -> None:
    openai_server.script(chat_completion("The answer is", finish_reason="length"))
    with pytest.raises(OutputTruncatedError) as info:
        call(ask())
    assert info.value.retryable is False
    assert info.value.partial is not None and info.value.partial.content == "The answer is"
    assert info.value.partial.usage == Usage(10, 5)


def test_unknown_model_on_a_compatible_server_gets_a_generic_card(
    openai_server: OpenAIServer,
) -> None:
    openai_server.script(chat_completion("hi from llama", model="llama3.1:8b", usage=(5, 3, 0, 0)))
    with OpenAICaller(settings_for(openai_server, api_key=None)) as caller:
        message = caller.call(
            LLMRequest((user_message("hi"),), "llama3.1:8b", model_args={"num_ctx": 4096})
        )
    assert message.content == "hi from llama"
    assert message.cost is not None and message.cost.total_usd == 0
    req = openai_server.requests[0]
    assert "authorization" not in req.headers
    assert req.json["model"] == "llama3.1:8b" and req.json["num_ctx"] == 4096


def test_per_card_base_url_and_key_env(
    openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lllm_adapters.openai import ModelCatalog

    monkeypatch.setenv("TOGETHER_TEST_KEY", "tg-secret")
    catalog = ModelCatalog.builtin().with_cards(
        ModelCard(
            "mixtral",
            provider="together",
            base_url=openai_server.url,
            api_key_env="TOGETHER_TEST_KEY",
        )
    )
    openai_server.script(chat_completion("ok"))
    settings = settings_for(openai_server, base_url="https://api.openai.com/v1")
    with OpenAICaller(settings, catalog) as caller:
        caller.call(LLMRequest((user_message("hi"),), "mixtral"))
        assert "tg-secret" not in repr(caller) and TEST_KEY not in repr(caller.settings)
    assert openai_server.requests[0].headers["authorization"] == "Bearer tg-secret"


def test_the_openai_key_is_never_sent_to_a_cards_other_host(openai_server: OpenAIServer) -> None:
    from lllm_adapters.openai import ModelCatalog

    catalog = ModelCatalog.builtin().with_cards(
        ModelCard("mixtral", provider="together", base_url=openai_server.url)
    )
    openai_server.script(chat_completion("ok"))
    settings = settings_for(openai_server, base_url="https://api.openai.com/v1")
    assert settings.api_key  # a key for api.openai.com is configured...
    with OpenAICaller(settings, catalog) as caller:
        caller.call(LLMRequest((user_message("hi"),), "mixtral"))
    assert "authorization" not in openai_server.requests[0].headers  # ...and not sent elsewhere


def test_unknown_model_on_openai_itself_is_a_clear_error() -> None:
    from lllm_adapters.openai import OpenAISettings

    with (
        OpenAICaller(OpenAISettings(api_key="k")) as caller,
        pytest.raises(ConfigError, match="unknown model 'gpt-99'"),
    ):
        caller.call(LLMRequest((user_message("hi"),), "gpt-99"))


def test_missing_key_for_openai_is_a_clear_error() -> None:
    from lllm_adapters.openai import OpenAISettings

    with (
        OpenAICaller(OpenAISettings(api_key=None)) as caller,
        pytest.raises(ConfigError, match="OPENAI_API_KEY"),
    ):
        caller.call(LLMRequest((user_message("hi"),), "gpt-4o"))


def test_hosted_tools_need_the_responses_api(call: CallFn, openai_server: OpenAIServer) -> None:
    with pytest.raises(ConfigError, match="api_type"):
        call(ask(allow_web_search=True))
