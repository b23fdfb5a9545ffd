"""Images returned by tools, on the OpenAI wire (no server): inside ``function_call_output`` on
the Responses API; in one user message after the round's tool messages on Chat Completions."""

from __future__ import annotations

from typing import Any

from lllm_adapters.openai import ModelCatalog
from lllm_adapters.openai.chat_completions import chat_body
from lllm_adapters.openai.responses import responses_body
from lllm_domain.message import FunctionCall, Image, Message, Role, user_message
from lllm_domain.request import LLMRequest

CARD = ModelCatalog.builtin().card("gpt-4o")
RED = Image("cmVk")
BLUE = Image("Ymx1ZQ==", "image/jpeg", detail="low")
TURN = Message(
    Role.TOOL_CALL,
    "",
    "a",
    function_calls=(
        FunctionCall("c1", "look", {}, raw_arguments="{}"),
        FunctionCall("c2", "plain", {}, raw_arguments="{}"),
        FunctionCall("c3", "look", {}, raw_arguments="{}"),
    ),
)
ROUND = (
    user_message("go"),
    TURN,
    Message(Role.TOOL, "two", "function", tool_call_id="c1", images=(RED, BLUE)),
    Message(Role.TOOL, "text only", "function", tool_call_id="c2"),
    Message(Role.TOOL, "", "function", tool_call_id="c3", images=(BLUE,)),
)


def _request(*messages: Message) -> LLMRequest:
    return LLMRequest(messages, CARD.name)


def test_responses_function_call_output_lists_the_text_then_every_image() -> None:
    items = responses_body(_request(*ROUND), CARD, stream=False)["input"]
    outputs = [i for i in items if i.get("type") == "function_call_output"]
    assert outputs[0] == {
        "type": "function_call_output",
        "call_id": "c1",
        "output": [
            {"type": "input_text", "text": "two"},
            {"type": "input_image", "image_url": "data:image/png;base64,cmVk", "detail": "auto"},
            {
                "type": "input_image",
                "image_url": "data:image/jpeg;base64,Ymx1ZQ==",
                "detail": "low",
            },
        ],
    }
    assert outputs[1]["output"] == "text only"  # a result without images stays a string
    assert [p["type"] for p in outputs[2]["output"]] == ["input_image"]


def test_responses_user_turn_sends_every_image() -> None:
    message = Message(Role.USER, "see", "user", image=RED, images=(BLUE,))
    [item] = responses_body(_request(message), CARD, stream=False)["input"]
    assert [p["type"] for p in item["content"]] == ["input_text", "input_image", "input_image"]


def _chat(*messages: Message) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = chat_body(_request(*messages), CARD, stream=False)["messages"]
    return sent


def test_chat_sends_the_rounds_images_in_one_user_message_after_its_tool_messages() -> None:
    sent = _chat(*ROUND, Message(Role.ASSISTANT, "seen", "a"))
    assert [m["role"] for m in sent] == [
        "user",
        "assistant",
        "tool",
        "tool",
        "tool",
        "user",
        "assistant",
    ]
    # Every tool call is answered by its tool message (text only), in order, before the images.
    assert [m["tool_call_id"] for m in sent[2:5]] == ["c1", "c2", "c3"]
    assert all(isinstance(m["content"], str) for m in sent[2:5])
    assert sent[5]["content"] == [
        {"type": "text", "text": "The 2 images returned by tool call c1 (look):"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,cmVk"}},
        {
            "type": "image_url",
            "image_url": {"url": "data:image/jpeg;base64,Ymx1ZQ==", "detail": "low"},
        },
        {"type": "text", "text": "The image returned by tool call c3 (look):"},
        {
            "type": "image_url",
            "image_url": {"url": "data:image/jpeg;base64,Ymx1ZQ==", "detail": "low"},
        },
    ]


def test_chat_images_close_a_round_that_ends_the_request() -> None:
    sent = _chat(*ROUND)
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool", "tool", "user"]


def test_chat_without_tool_images_sends_no_extra_message() -> None:
    plain = Message(Role.TOOL, "ok", "function", tool_call_id="c1")
    sent = _chat(user_message("go"), TURN, plain, Message(Role.ASSISTANT, "done", "a"))
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant"]


def test_chat_user_turn_sends_every_image() -> None:
    [sent] = _chat(Message(Role.USER, "see", "user", image=RED, images=(BLUE,)))
    assert [p["type"] for p in sent["content"]] == ["text", "image_url", "image_url"]
