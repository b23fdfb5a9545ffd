"""The agent call: parse retries, tool calls, interrupts, API retries, budgets, drivers."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lllm_domain.agent import Agent
from lllm_domain.agent_call import AgentCall, CallModel, ModelReplied, run_sync
from lllm_domain.dialog import Dialog
from lllm_domain.errors import (
    AgentCallError,
    BudgetExceededError,
    ConfigError,
    LLMRetriesExhaustedError,
    ParseError,
    ParseRetriesExhaustedError,
)
from lllm_domain.function import Function
from lllm_domain.limits import Budget, CallLimits, RetryPolicy
from lllm_domain.message import Creator, Image, Message, Role
from lllm_domain.model_card import ModelCard, Pricing
from lllm_domain.prompt import Prompt
from lllm_domain.testing import (
    FakeClock,
    ScriptedCaller,
    api_error,
    bad_arguments_call,
    call,
    text,
    tool_calls,
)
from lllm_domain.tool_output import ToolOutput
from lllm_domain.usage import Cost, Usage

from tests.support.domain_builders import PROPERTY, answer_prompt, make_agent
from tests.support.memory_log import MemoryLogStore

ANSWER = "<answer>5</answer>"


class Counter:
    """A tool that counts its invocations."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def add(self, a: int, b: int) -> int:
        """Add two numbers.

        Args:
            a: the first number
            b: the second number
        """
        self.calls.append((a, b))
        return a + b

    def show(self, n: int) -> ToolOutput:
        """Show n pictures (a result carrying images)."""
        self.calls.append((n, -1))
        return ToolOutput(f"{n} pictures", tuple(Image(str(i)) for i in range(n)))


def add_prompt(counter: Counter) -> Prompt:
    """The answer prompt offering ``add`` linked to ``counter``."""
    return answer_prompt(functions=[Function.from_callable(counter.add, name="add")])


def roles(dialog: Dialog) -> list[str]:
    """The role of each message."""
    return [m.role.value for m in dialog]


# -- parse failures ----------------------------------------------------------------------------


def test_parse_failure_then_success_prunes_handler_turns_and_keeps_attempts() -> None:
    log = MemoryLogStore()
    agent, caller, _ = make_agent(["no tags here", ANSWER], log_store=log)
    dialog = agent.init_dialog()

    result = agent.call(dialog, answer_prompt(), {"question": "2+3?"})

    # The returned dialog is the one passed in, with no exception-handler turn in it.
    assert result.dialog is dialog
    assert roles(dialog) == ["system", "user", "assistant"]
    assert all(m.creator != Creator.EXCEPTION for m in dialog)
    assert all(not (m.prompt_path or "").endswith("::exception") for m in dialog)
    # Two attempts on record: the failed reply rides on the final message, which is the second.
    final = dialog[-1]
    assert final is result.message
    assert final.content == ANSWER
    assert result.parsed["xml_tags"]["answer"] == ["5"]
    assert [a.content for a in final.attempts] == ["no tags here"]
    assert "<answer>" in final.attempts[0].errors[0]
    assert result.requests == 2 == len(caller.requests)
    # The second request was made on the working copy: failed reply + exception handler.
    retry = caller.requests[1].messages
    assert [m.content for m in retry[:2]] == [dialog[0].content, dialog[1].content]
    assert retry[2].content == "no tags here"
    assert retry[3].creator == Creator.EXCEPTION
    assert retry[3].prompt_path == "test/task::exception"
    assert "Missing the required tag <answer>" in retry[3].content
    # Both replies are in the log (the failed one under the working copy's dialog id).
    logged = [r.data["message"]["content"] for r in log.read("messages", "default")]
    assert logged.count("no tags here") == 1
    assert logged.count(ANSWER) == 1
    # Usage of the failed attempt is not lost.
    assert result.usage == final.total_usage == dialog.usage
    assert result.usage.output_tokens == sum(
        m.usage.output_tokens for m in (final, *final.attempts) if m.usage
    )


def test_several_parse_failures_accumulate_on_the_working_copy() -> None:
    agent, caller, _ = make_agent(["bad 1", "bad 2", ANSWER])
    dialog = agent.init_dialog()
    result = agent.call(dialog, answer_prompt(), {"question": "q"})

    assert [a.content for a in result.message.attempts] == ["bad 1", "bad 2"]
    third = caller.requests[2].messages
    assert [m.creator for m in third[2:]] == [
        "tester",
        Creator.EXCEPTION,
        "tester",
        Creator.EXCEPTION,
    ]
    assert len(dialog) == 3


def test_parse_retries_exhausted_raise_with_every_attempt_and_the_dialog() -> None:
    agent, caller, _ = make_agent(
        ["bad 1", "bad 2", "bad 3"], limits=CallLimits(max_exception_retry=2)
    )
    dialog = agent.init_dialog()
    with pytest.raises(ParseRetriesExhaustedError) as info:
        agent.call(dialog, answer_prompt(), {"question": "q"})
    err = info.value
    assert [a.content for a in err.attempts] == ["bad 1", "bad 2", "bad 3"]
    assert all(a.errors for a in err.attempts)
    assert err.dialog is dialog
    assert roles(dialog) == ["system", "user"]
    assert len(caller.requests) == 3
    assert "test/task" in str(err)
    assert isinstance(err.__cause__, ParseError)


def test_failed_attempts_ride_on_the_turn_that_settles_them() -> None:
    counter = Counter()
    agent, caller, _ = make_agent(["bad", tool_calls(call("add", a=1, b=2)), "bad again", ANSWER])
    dialog = agent.init_dialog()
    result = agent.call(dialog, add_prompt(counter), {"question": "q"})
    assert roles(dialog) == ["system", "user", "tool_call", "tool", "assistant"]
    assert [a.content for a in dialog[2].attempts] == ["bad"]
    assert [a.content for a in result.message.attempts] == ["bad again"]
    # After the tool round the working copy starts afresh from the returned dialog.
    assert [m.content for m in caller.requests[2].messages] == [m.content for m in dialog[:4]]
    assert counter.calls == [(1, 2)]


def test_zero_exception_retries_fail_on_the_first_bad_reply() -> None:
    agent, caller, _ = make_agent(["bad", ANSWER], limits=CallLimits(max_exception_retry=0))
    with pytest.raises(ParseRetriesExhaustedError):
        agent.call(agent.init_dialog(), answer_prompt(), {"question": "q"})
    assert len(caller.requests) == 1


def test_dialog_without_top_prompt_returns_the_raw_text() -> None:
    agent, _, _ = make_agent(["anything at all"])
    dialog = agent.init_dialog()
    dialog.send_message("hello")
    result = agent.call(dialog)
    assert result.parsed == {"raw": "anything at all"}


# -- tools -------------------------------------------------------------------------------------


def test_identical_repeated_tool_call_is_not_executed_twice() -> None:
    counter = Counter()
    agent, caller, _ = make_agent(
        [tool_calls(call("add", a=2, b=3)), tool_calls(call("add", a=2, b=3)), ANSWER]
    )
    dialog = agent.init_dialog()
    result = agent.call(dialog, add_prompt(counter), {"question": "q"})

    assert counter.calls == [(2, 3)]
    first, second = result.function_calls
    assert first.result == 5 and first.result_text == "5"
    assert second.result == 5
    assert "not run again" in (second.result_text or "")
    # The model read the reuse notice, addressed to its own tool-call id.
    last_tool = caller.requests[2].messages[-1]
    assert last_tool.role is Role.TOOL
    assert last_tool.tool_call_id == second.id != first.id
    assert "Reuse the earlier result" in last_tool.content


def test_repeat_within_one_round_is_not_executed_twice() -> None:
    counter = Counter()
    agent, _, _ = make_agent([tool_calls(call("add", a=1, b=1), call("add", a=1, b=1)), ANSWER])
    result = agent.call(agent.init_dialog(), add_prompt(counter), {"question": "q"})
    assert counter.calls == [(1, 1)]
    assert len(result.function_calls) == 2


def test_a_tool_that_raises_yields_an_error_result_and_the_call_completes() -> None:
    def explode(x: int) -> int:
        """Fail."""
        raise ValueError(f"boom {x}")

    prompt = answer_prompt(functions=[Function.from_callable(explode)])
    agent, caller, _ = make_agent([tool_calls(call("explode", x=4)), ANSWER])
    dialog = agent.init_dialog()
    result = agent.call(dialog, prompt, {"question": "q"})

    assert result.parsed["xml_tags"]["answer"] == ["5"]
    (outcome,) = result.function_calls
    assert not outcome.success
    assert outcome.error == "ValueError: boom 4"
    tool_msg = caller.requests[1].messages[-1]
    assert tool_msg.role is Role.TOOL
    assert tool_msg.tool_call_id == outcome.id
    assert "ValueError: boom 4" in tool_msg.content
    assert tool_msg.extra.get("is_error") is True  # providers that mark failed results read it
    assert roles(dialog) == ["system", "user", "tool_call", "tool", "assistant"]


@pytest.mark.parametrize(
    ("bad_call", "expected"),
    [
        (call("subtract", a=1, b=2), "there is no tool named 'subtract'; available tools: add"),
        (call("add", a="two", b=3), "argument 'a' must be of type integer, not 'two'"),
        (call("add", a=2), "missing required argument 'b'"),
        (call("add", a=1, b=2, c=3), "unknown argument 'c'"),
        (bad_arguments_call("add", '{"a": 2, "b":'), "are not valid JSON"),
    ],
    ids=["unknown-tool", "wrong-type", "missing-required", "extra-argument", "invalid-json"],
)
def test_bad_tool_calls_become_error_results_the_model_reads(bad_call: Any, expected: str) -> None:
    counter = Counter()
    agent, caller, _ = make_agent([tool_calls(bad_call), ANSWER])
    result = agent.call(agent.init_dialog(), add_prompt(counter), {"question": "q"})

    assert counter.calls == []
    (outcome,) = result.function_calls
    assert outcome.error is not None and expected in outcome.error
    tool_msg = caller.requests[1].messages[-1]
    assert tool_msg.role is Role.TOOL
    assert tool_msg.content.startswith("Error: ")
    assert expected in tool_msg.content


def test_tool_results_are_appended_in_order_through_the_interrupt_handler() -> None:
    counter = Counter()
    agent, _, _ = make_agent([tool_calls(call("add", a=1, b=2), call("add", a=3, b=4)), ANSWER])
    dialog = agent.init_dialog()
    result = agent.call(dialog, add_prompt(counter), {"question": "q"})
    tool_msgs = [m for m in dialog if m.role is Role.TOOL]
    assert [m.content for m in tool_msgs] == ["3", "7"]
    assert [m.tool_call_id for m in tool_msgs] == [c.id for c in result.function_calls]
    assert not any(m.extra.get("is_error") for m in tool_msgs)  # successes are not errors
    assert {m.prompt_path for m in tool_msgs} == {"test/task::interrupt"}
    assert all(m.creator == Creator.FUNCTION for m in tool_msgs)


def test_max_interrupt_times_appends_final_prompt_and_withholds_tools() -> None:
    counter = Counter()
    agent, caller, _ = make_agent(
        [tool_calls(call("add", a=1, b=1)), tool_calls(call("add", a=2, b=2)), ANSWER],
        limits=CallLimits(max_interrupt_times=2),
    )
    dialog = agent.init_dialog()
    result = agent.call(dialog, add_prompt(counter), {"question": "q"})

    assert counter.calls == [(1, 1), (2, 2)]
    assert [len(r.tools) for r in caller.requests] == [1, 1, 0]
    assert caller.requests[2].tools == ()
    tool_msgs = [m for m in dialog if m.role is Role.TOOL]
    assert tool_msgs[0].prompt_path == "test/task::interrupt"
    assert "final response" not in tool_msgs[0].content
    assert tool_msgs[1].prompt_path == "test/task::final_interrupt"
    assert tool_msgs[1].content.startswith("4")
    assert "please give your final response" in tool_msgs[1].content
    assert result.content == ANSWER


def test_zero_interrupt_times_offers_no_tools_at_all() -> None:
    """Regression: max_interrupt_times=0 used to offer tools and run one round anyway."""
    counter = Counter()
    agent, caller, _ = make_agent(
        [tool_calls(call("add", a=1, b=1)), ANSWER], limits=CallLimits(max_interrupt_times=0)
    )
    result = agent.call(agent.init_dialog(), add_prompt(counter), {"question": "q"})
    assert counter.calls == []
    assert [r.tools for r in caller.requests] == [(), ()]
    assert result.function_calls == ()
    assert "Tools are not available" in caller.requests[1].messages[-1].content


def test_tool_calls_after_the_limit_are_not_run_but_corrected() -> None:
    counter = Counter()
    agent, caller, _ = make_agent(
        [tool_calls(call("add", a=1, b=1)), tool_calls(call("add", a=9, b=9)), ANSWER],
        limits=CallLimits(max_interrupt_times=1),
    )
    result = agent.call(agent.init_dialog(), add_prompt(counter), {"question": "q"})
    assert counter.calls == [(1, 1)]
    assert [len(r.tools) for r in caller.requests] == [1, 0, 0]
    assert result.message.attempts[0].function_calls[0].arguments == {"a": 9, "b": 9}
    assert "Tools are not available" in caller.requests[2].messages[-1].content
    # The refused call is answered by a tool message, so the conversation stays valid on the wire.
    refused_id = result.message.attempts[0].function_calls[0].id
    *_, asked, answered, correction = caller.requests[2].messages
    assert asked.function_calls[0].id == refused_id
    assert (answered.role, answered.tool_call_id) == (Role.TOOL, refused_id)
    assert answered.content.startswith("Error: Tools are not available")
    assert correction.role is Role.USER


def test_async_tools_are_awaited_by_the_async_driver() -> None:
    seen: list[str] = []

    async def lookup(key: str) -> str:
        """Look a key up."""
        await asyncio.sleep(0)
        seen.append(key)
        return key.upper()

    prompt = answer_prompt(functions=[Function.from_callable(lookup)])
    agent, caller, _ = make_agent([tool_calls(call("lookup", key="abc")), ANSWER])
    result = asyncio.run(agent.acall(agent.init_dialog(), prompt, {"question": "q"}))
    assert seen == ["abc"]
    assert result.function_calls[0].result == "ABC"
    assert caller.requests[1].messages[-1].content == "ABC"


# -- API errors --------------------------------------------------------------------------------


def test_retryable_error_with_retry_after_sleeps_exactly_that_long() -> None:
    agent, caller, clock = make_agent(
        [api_error(429, retry_after=2), ANSWER], limits=CallLimits(max_exception_retry=0)
    )
    start = clock.now()
    result = agent.call(agent.init_dialog(), answer_prompt(), {"question": "q"})
    assert clock.sleeps == [2]
    assert clock.now() == start + 2
    assert result.content == ANSWER
    assert len(caller.requests) == 2
    assert caller.requests[0] == caller.requests[1]


def test_retryable_error_without_hint_backs_off_with_bounded_jitter() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=3.0, jitter=0.25)
    agent, _, clock = make_agent(
        [api_error(503), api_error(503), api_error(500), api_error(502), ANSWER],
        limits=CallLimits(retry=policy),
    )
    agent.call(agent.init_dialog(), answer_prompt(), {"question": "q"})
    bases = [1.0, 2.0, 3.0, 3.0]  # doubling, capped at max_delay
    assert len(clock.sleeps) == 4
    for slept, base in zip(clock.sleeps, bases, strict=True):
        assert base * 0.75 <= slept <= base
    assert len(set(clock.sleeps)) > 1  # jitter actually varies the delays


@PROPERTY
@given(
    attempt=st.integers(min_value=1, max_value=40),
    seed=st.integers(min_value=0, max_value=2**32),
    base=st.floats(min_value=0.0, max_value=10.0),
    jitter=st.floats(min_value=0.0, max_value=1.0),
)
def test_backoff_stays_within_its_bounds(
    attempt: int, seed: int, base: float, jitter: float
) -> None:
    policy = RetryPolicy(base_delay=base, max_delay=30.0, jitter=jitter)
    delay = policy.backoff(attempt, random.Random(seed))
    ceiling = min(base * 2.0 ** (attempt - 1), 30.0)
    assert ceiling * (1 - jitter) - 1e-9 <= delay <= ceiling + 1e-9


def test_exceeding_max_attempts_raises_with_every_api_error() -> None:
    errors = [api_error(503), api_error(429, retry_after=1), api_error(500)]
    agent, caller, clock = make_agent(
        [*errors, ANSWER], limits=CallLimits(retry=RetryPolicy(max_attempts=2))
    )
    dialog = agent.init_dialog()
    with pytest.raises(LLMRetriesExhaustedError) as info:
        agent.call(dialog, answer_prompt(), {"question": "q"})
    assert list(info.value.api_errors) == errors
    assert all(a is b for a, b in zip(info.value.api_errors, errors, strict=True))
    assert len(caller.requests) == 3
    assert len(clock.sleeps) == 2
    assert info.value.dialog is dialog


def test_exceeding_max_total_wait_raises_before_sleeping_past_it() -> None:
    errors = [api_error(429, retry_after=3), api_error(429, retry_after=3)]
    agent, caller, clock = make_agent(
        [*errors, ANSWER], limits=CallLimits(retry=RetryPolicy(max_total_wait=5))
    )
    with pytest.raises(LLMRetriesExhaustedError) as info:
        agent.call(agent.init_dialog(), answer_prompt(), {"question": "q"})
    assert clock.sleeps == [3]
    assert list(info.value.api_errors) == errors
    assert len(caller.requests) == 2


def test_non_retryable_errors_are_recalled_then_reported_and_raised() -> None:
    log = MemoryLogStore()
    errors = [api_error(400), api_error(400), api_error(401)]
    agent, caller, clock = make_agent(
        [*errors, ANSWER], limits=CallLimits(max_llm_recall=2), log_store=log
    )
    dialog = agent.init_dialog(session="s1")
    with pytest.raises(AgentCallError) as info:
        agent.call(dialog, answer_prompt(), {"question": "q"})
    err = info.value
    assert type(err) is AgentCallError
    assert list(err.api_errors) == errors
    assert len(caller.requests) == 3
    assert clock.sleeps == []
    (report,) = [r.data for r in log.read("errors", "s1")]
    assert report["agent_name"] == "tester"
    assert report["error_type"] == "AgentCallError"
    assert report["dialog_id"] == dialog.dialog_id
    assert [e["status"] for e in report["api_errors"]] == [400, 400, 401]
    assert all(e["retryable"] is False for e in report["api_errors"])


def test_non_retryable_error_then_success_within_max_llm_recall() -> None:
    agent, caller, _ = make_agent([api_error(400), ANSWER], limits=CallLimits(max_llm_recall=1))
    result = agent.call(agent.init_dialog(), answer_prompt(), {"question": "q"})
    assert result.content == ANSWER
    assert len(caller.requests) == 2


def test_non_retryable_error_with_no_recall_fails_at_once() -> None:
    agent, caller, _ = make_agent([api_error(404), ANSWER])
    with pytest.raises(AgentCallError):
        agent.call(agent.init_dialog(), answer_prompt(), {"question": "q"})
    assert len(caller.requests) == 1


# -- budgets -----------------------------------------------------------------------------------


def _tool_script(rounds: int, **reply: Any) -> list[Any]:
    return [tool_calls(call("add", a=i, b=i)).replace(**reply) for i in range(rounds)] + [
        text(ANSWER, **reply)
    ]


@pytest.mark.parametrize(
    ("budget", "limit", "reply"),
    [
        (Budget(max_requests=2), "requests", {}),
        (Budget(max_tokens=200), "tokens", {"usage": Usage(60, 40)}),
        (Budget(max_cost_usd=1.0), "cost", {"usage": Usage(0, 0), "cost": Cost(output_usd=0.5)}),
    ],
    ids=["requests", "tokens", "cost"],
)
def test_budget_ends_the_call_with_dialog_and_trace(
    budget: Budget, limit: str, reply: dict[str, Any]
) -> None:
    counter = Counter()
    log = MemoryLogStore()
    agent, caller, _ = make_agent(_tool_script(5, **reply), log_store=log)
    dialog = agent.init_dialog()
    with pytest.raises(BudgetExceededError) as info:
        agent.call(dialog, add_prompt(counter), {"question": "q"}, budget=budget)
    err = info.value
    assert err.limit == limit
    assert len(caller.requests) == 2
    assert counter.calls == [(0, 0), (1, 1)]
    assert err.dialog is dialog
    assert roles(dialog) == ["system", "user", "tool_call", "tool", "tool_call", "tool"]
    assert [c.result for c in err.function_calls] == [0, 2]
    assert [r.data["error_type"] for r in log.read("errors", "default")] == ["BudgetExceededError"]


def test_budget_hit_during_parse_retries_keeps_the_failed_attempts() -> None:
    agent, _, _ = make_agent(["bad 1", "bad 2", ANSWER])
    dialog = agent.init_dialog()
    with pytest.raises(BudgetExceededError) as info:
        agent.call(dialog, answer_prompt(), {"question": "q"}, budget=Budget(max_requests=2))
    assert [a.content for a in info.value.attempts] == ["bad 1", "bad 2"]
    assert roles(dialog) == ["system", "user"]


def test_cost_budget_uses_model_card_prices() -> None:
    card = ModelCard("scripted-model", pricing=Pricing(output_per_million=1_000_000.0))
    agent, caller, _ = make_agent(["bad", ANSWER], model_card=card)
    # Every scripted reply costs at least one output token = $1.
    with pytest.raises(BudgetExceededError) as info:
        agent.call(
            agent.init_dialog(), answer_prompt(), {"question": "q"}, budget=Budget(max_cost_usd=1)
        )
    assert info.value.limit == "cost"
    assert len(caller.requests) == 1


# -- model args --------------------------------------------------------------------------------


def test_wrong_model_arg_is_an_error_before_any_request() -> None:
    card = ModelCard("scripted-model", allowed_args=("temperature", "max_completion_tokens"))
    with pytest.raises(ConfigError, match="'temprature'"):
        make_agent([ANSWER], model_card=card, model_args={"temprature": 0.2})
    agent, caller, _ = make_agent([ANSWER], model_card=card, model_args={"temperature": 0.2})
    dialog = agent.init_dialog()
    with pytest.raises(ConfigError, match="'top_k'"):
        agent.call(dialog, answer_prompt(), {"question": "q"}, model_args={"top_k": 3})
    assert caller.requests == []
    # Regression: the failed call must not leave its prompt behind in the dialog.
    assert roles(dialog) == ["system"]
    agent.call(dialog, answer_prompt(), {"question": "q"}, model_args={"max_completion_tokens": 9})
    assert caller.requests[0].model_args == {"temperature": 0.2, "max_completion_tokens": 9}


# -- the machine and its drivers ---------------------------------------------------------------


def test_machine_can_be_driven_by_hand() -> None:
    dialog = Dialog(ids=lambda: "d")
    dialog.send_prompt(answer_prompt(), {"question": "q"})
    machine = AgentCall(dialog, model="m", agent_name="hand")
    action = machine.start()
    assert isinstance(action, CallModel)
    assert action.request.model == "m"
    assert action.request.prompt_path == "test/task"
    with pytest.raises(StopIteration) as stop:
        machine.send(ModelReplied(Message(Role.ASSISTANT, ANSWER, "hand")))
    assert stop.value.value.parsed["xml_tags"]["answer"] == ["5"]


def test_run_sync_returns_the_result() -> None:
    dialog = Dialog(ids=lambda: "d")
    dialog.send_prompt(answer_prompt(), {"question": "q"})
    result = run_sync(AgentCall(dialog, model="m"), ScriptedCaller([ANSWER]), FakeClock())
    assert result.message.content == ANSWER
    assert result.requests == 1


def _transcript_script() -> list[Any]:
    return [
        "no answer tag",
        api_error(503),
        tool_calls(call("add", a=1, b=2), call("show", n=2), call("add", a=1, b=2), call("nope")),
        api_error(429, retry_after=1.5),
        tool_calls(call("add", a="x", b=2), bad_arguments_call("add", "{")),
        api_error(400),
        ANSWER,
    ]


def _run_both(script_factory: Any, **agent_kwargs: Any) -> tuple[Any, Any]:
    outcomes = []
    for mode in ("sync", "async"):
        counter = Counter()
        agent, caller, clock = make_agent(script_factory(), **agent_kwargs)
        dialog = agent.init_dialog()
        prompt = answer_prompt(
            functions=[
                Function.from_callable(counter.add, name="add"),
                Function.from_callable(counter.show, name="show"),
            ]
        )
        try:
            if mode == "sync":
                agent.call(dialog, prompt, {"question": "q"})
            else:
                asyncio.run(agent.acall(dialog, prompt, {"question": "q"}))
            error = None
        except AgentCallError as exc:
            error = (type(exc).__name__, str(exc), [a.content for a in exc.attempts])
        outcomes.append(
            (
                dialog.to_data(),
                [[m.content for m in r.messages] for r in caller.requests],
                clock.sleeps,
                counter.calls,
                error,
            )
        )
    return outcomes[0], outcomes[1]


def test_sync_and_async_drivers_produce_identical_transcripts() -> None:
    sync, async_ = _run_both(_transcript_script, limits=CallLimits(max_llm_recall=1))
    assert sync == async_
    data = sync[0]
    assert data["dialog_id"] == "d-1"
    assert [m["role"] for m in data["messages"]] == [
        "system",
        "user",
        "tool_call",
        "tool",
        "tool",
        "tool",
        "tool",
        "tool_call",
        "tool",
        "tool",
        "assistant",
    ]
    assert len(data["messages"][4]["images"]) == 2  # what ``show`` returned, in both drivers
    assert sync[2][1] == 1.5  # the retry-after hint, after one jittered backoff
    assert sync[3] == [(1, 2), (2, -1)]
    assert sync[4] is None


REPLIES = st.sampled_from(
    ["answer", "bad", "tool", "picture", "repeat", "unknown", "retry", "fatal"]
)


def _reply(kind: str, i: int) -> Any:
    return {
        "answer": ANSWER,
        "bad": f"bad {i}",
        "tool": tool_calls(call("add", a=i, b=1)),
        "picture": tool_calls(call("show", n=i % 3)),
        "repeat": tool_calls(call("add", a=0, b=0)),
        "unknown": tool_calls(call("missing", x=i)),
        "retry": api_error(503, retry_after=0.5),
        "fatal": api_error(400),
    }[kind]


@PROPERTY
@given(kinds=st.lists(REPLIES, max_size=12), recall=st.integers(0, 2), retries=st.integers(0, 3))
def test_every_script_ends_in_a_result_or_a_typed_error_identically_in_both_drivers(
    kinds: list[str], recall: int, retries: int
) -> None:
    def script() -> list[Any]:
        return [_reply(k, i) for i, k in enumerate(kinds)] + [ANSWER]

    limits = CallLimits(max_exception_retry=retries, max_interrupt_times=3, max_llm_recall=recall)
    sync, async_ = _run_both(script, limits=limits)
    assert sync == async_
    messages = sync[0]["messages"]
    # Exception-handler turns never reach the returned dialog.
    assert all(m["creator"] != Creator.EXCEPTION for m in messages)
    # A successful call ends with the parsed answer; a failed one never does.
    if sync[4] is None:
        assert messages[-1]["content"] == ANSWER
    else:
        assert sync[4][0] in {"ParseRetriesExhaustedError", "AgentCallError"}
        assert messages[-1]["role"] != "assistant"
    # Each distinct tool call ran once at most.
    assert len(sync[3]) == len(set(sync[3]))


def test_undecodable_calls_with_different_raw_text_are_not_repeats() -> None:
    first = bad_arguments_call("add", '{"a": 1,')
    second = bad_arguments_call("add", '{"a": 2,')
    assert not first.is_repeated(second)
    assert first.is_repeated(bad_arguments_call("add", '{"a": 1,'))


class _Opaque:
    """A tool result that is not plain data."""

    def __repr__(self) -> str:
        return "<opaque>"


class _JsonOnlyLog(MemoryLogStore):
    """A store that, like the real ones, accepts only JSON-encodable records."""

    def append(self, collection: str, session: str, data: Any) -> None:
        import json

        json.dumps(data)
        super().append(collection, session, data)


def test_the_error_report_keeps_tool_text_and_never_masks_the_error() -> None:
    def fetch(key: str) -> _Opaque:
        """Fetch an object."""
        return _Opaque()

    log = _JsonOnlyLog()
    prompt = answer_prompt(functions=[Function.from_callable(fetch)])
    agent, _, _ = make_agent(
        [tool_calls(call("fetch", key="k")), "no tag", "still no tag"],
        limits=CallLimits(max_exception_retry=1),
        log_store=log,
    )
    with pytest.raises(ParseRetriesExhaustedError):
        agent.call(agent.init_dialog(session="s"), prompt, {"question": "q"})
    (report,) = [r.data for r in log.read("errors", "s")]
    assert "<opaque>" in report["function_calls"][0]["result_text"]
    assert "result" not in report["function_calls"][0]


def test_a_failing_error_report_is_noted_on_the_error_it_could_not_mask() -> None:
    class BrokenErrors(MemoryLogStore):
        def append(self, collection: str, session: str, data: Any) -> None:
            if collection == "errors":
                raise OSError("disk full")
            super().append(collection, session, data)

    agent, _, _ = make_agent(
        ["no tag"], limits=CallLimits(max_exception_retry=0), log_store=BrokenErrors()
    )
    with pytest.raises(ParseRetriesExhaustedError) as info:
        agent.call(agent.init_dialog(), answer_prompt(), {"question": "q"})
    assert any("OSError: disk full" in note for note in info.value.__notes__)


def test_plain_text_works_as_system_prompt_and_as_a_question() -> None:
    agent, caller, _ = make_agent(["Four."])
    agent = Agent("helper", "Answer in {json}.", "m", caller)
    dialog = agent.init_dialog()
    result = agent.call(dialog, "What is 2+2? {not a variable}")
    assert [m.content for m in dialog] == [
        "Answer in {json}.",
        "What is 2+2? {not a variable}",
        "Four.",
    ]
    assert agent.system_prompt.path == "helper/system"
    assert result.parsed == {"raw": "Four."}
    assert caller.requests[0].tools == ()
