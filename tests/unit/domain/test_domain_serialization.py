"""Lossless plain-data and JSON round trips of messages, function calls and dialogs."""

from __future__ import annotations

from attrs import define
from hypothesis import given
from hypothesis import strategies as st
from lllm_domain.dialog import Dialog
from lllm_domain.message import FunctionCall, Message, Modality, Role
from lllm_domain.registry import PromptRegistry
from lllm_domain.serialization import (
    dialog_from_json,
    from_json,
    function_call_from_data,
    function_call_to_data,
    message_from_data,
    message_from_json,
    message_to_data,
    structure,
    to_data,
    to_json,
)
from lllm_domain.usage import Usage

from tests.support.domain_builders import PROPERTY
from tests.support.domain_strategies import function_calls, messages


@PROPERTY
@given(message=messages)
def test_message_round_trips_through_plain_data(message: Message) -> None:
    data = message_to_data(message)
    again = message_from_data(data)
    assert again == message
    assert [a.attempts for a in again.attempts] == [a.attempts for a in message.attempts]


@PROPERTY
@given(message=messages)
def test_message_round_trips_through_json(message: Message) -> None:
    raw = to_json(message)
    assert message_from_json(raw) == message
    assert message_from_json(raw.decode()) == message
    assert from_json(raw) == message_to_data(message)


@PROPERTY
@given(call=function_calls)
def test_function_call_round_trips(call: FunctionCall) -> None:
    assert function_call_from_data(function_call_to_data(call)) == call
    assert function_call_from_data(from_json(to_json(call))) == call


@PROPERTY
@given(history=st.lists(messages, max_size=5), session=st.text(max_size=10))
def test_dialog_round_trips_through_json(history: list[Message], session: str) -> None:
    dialog = Dialog(history, session=session, dialog_id="d", parent_id="p")
    again = dialog_from_json(to_json(dialog), prompts=PromptRegistry())
    assert list(again) == history
    assert again.to_data() == dialog.to_data()


def test_plain_data_is_small_and_uses_plain_values() -> None:
    data = message_to_data(Message(Role.USER, "hello", "user"))
    assert data == {"role": "user", "content": "hello", "creator": "user"}
    assert to_json(Message(Role.USER, "hi", "user")) == (
        b'{"role":"user","content":"hi","creator":"user"}'
    )
    assert to_data(Usage(1, 2)) == {"input_tokens": 1, "output_tokens": 2}
    assert structure({"input_tokens": 3}, Usage) == Usage(3)
    assert to_json({"a": [1]}) == b'{"a":[1]}'


def test_enums_become_their_plain_values() -> None:
    """Regression: Role and Modality (StrEnums) used to stay enum objects in plain data, which
    YAML dumpers and other strict consumers reject."""
    message = Message(Role.TOOL_CALL, "", "a", modality=Modality.FUNCTION_CALL)
    data = message_to_data(message)
    assert type(data["role"]) is str and data["role"] == "tool_call"
    assert type(data["modality"]) is str and data["modality"] == "function_call"
    assert type(to_data(Role.USER)) is str
    assert message_from_data(data) == message


def test_structured_output_payload_is_stored_as_plain_data() -> None:
    """``parsed`` is typed Any, so an attrs payload comes back as its plain form (a dict)."""

    @define(frozen=True)
    class Answer:
        value: int

    message = Message(Role.ASSISTANT, '{"value": 1}', "a", parsed=Answer(1))
    again = message_from_json(to_json(message))
    assert again.parsed == {"value": 1}
    assert again.replace(parsed=Answer(1)) == message
