"""The scripted caller and fake clock that users test their own agents with."""

from __future__ import annotations

import asyncio

import pytest
from lllm_domain.errors import LLMAPIError
from lllm_domain.message import Message, Role
from lllm_domain.request import LLMRequest
from lllm_domain.testing import (
    CountingIds,
    FakeClock,
    ScriptedCaller,
    ScriptExhaustedError,
    api_error,
    call,
    logprob_reply,
    text,
    tool_calls,
)
from lllm_domain.usage import Usage


def request(**kwargs: object) -> LLMRequest:
    values: dict[str, object] = {
        "messages": (Message(Role.USER, "x" * 40, "user"),),
        "model": "m",
        "agent_name": "bot",
    }
    values.update(kwargs)
    return LLMRequest(**values)  # type: ignore[arg-type]


def test_replies_come_in_order_and_every_request_is_recorded() -> None:
    caller = ScriptedCaller(["first", text("second", model="custom")])
    caller.push("third")
    assert caller.remaining == 3
    first = caller.call(request())
    assert (first.role, first.content, first.creator, first.model) == (
        Role.ASSISTANT,
        "first",
        "bot",
        "m",
    )
    assert first.usage == Usage(10, 1)
    assert caller.call(request()).model == "custom"
    assert asyncio.run(caller.acall(request(model="n"))).content == "third"
    assert [r.model for r in caller.requests] == ["m", "m", "n"]
    with pytest.raises(ScriptExhaustedError, match="no reply for request #4"):
        caller.call(request())


def test_errors_functions_and_fallback_responder() -> None:
    boom = api_error(503)
    caller = ScriptedCaller(
        [boom, lambda req: f"echo {req.model}"],
        respond=lambda req: "fallback",
        count_usage=False,
    )
    with pytest.raises(LLMAPIError) as info:
        caller.call(request())
    assert info.value is boom
    assert caller.call(request(model="q")).content == "echo q"
    reply = caller.call(request())
    assert reply.content == "fallback"
    assert reply.usage is None
    with pytest.raises(TypeError, match="must be str, Message"):
        ScriptedCaller([lambda req: 42]).call(request())


def test_tool_calls_get_deterministic_ids_and_keep_given_ones() -> None:
    caller = ScriptedCaller([tool_calls(call("a", x=1), call("b", _id="mine"), call("c"))])
    reply = caller.call(request())
    assert reply.role is Role.TOOL_CALL
    assert [c.id for c in reply.function_calls] == ["call_1", "mine", "call_2"]
    assert reply.function_calls[0].arguments == {"x": 1}
    assert reply.function_calls[0].raw_arguments == '{"x": 1}'


def test_logprob_reply_builds_top_candidates() -> None:
    reply = logprob_reply({"A": 0.25, "B": 0.75})
    assert reply.content == "B"
    (first,) = reply.logprobs
    assert [t.token for t in first.top] == ["A", "B"]
    assert first.logprob == pytest.approx(-0.2876820724517809)


def test_fake_clock_and_counting_ids() -> None:
    clock = FakeClock(start=100.0)
    clock.sleep(1.5)
    asyncio.run(clock.asleep(2))
    assert clock.sleeps == [1.5, 2]
    assert clock.now() == 103.5
    ids = CountingIds("x")
    assert [ids(), ids()] == ["x-1", "x-2"]


def test_replies_name_the_requested_model_unless_the_caller_names_its_own() -> None:
    assert ScriptedCaller(["hi"]).call(request()).model == "m"
    assert ScriptedCaller(["hi"], model="scripted").call(request()).model == "scripted"
    given = text("hi", model="fixed")
    assert ScriptedCaller([given], model="scripted").call(request()).model == "fixed"
