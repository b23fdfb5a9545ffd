"""The agent call's explicit state: every decision as a pure function, enumerated like a table,
and the phases that accept only their own events."""

from __future__ import annotations

import itertools

import pytest
from attrs import evolve
from lllm_domain.agent_call import (
    ACCEPTS,
    AgentCall,
    CallerFailed,
    CallModel,
    ModelFailed,
    ModelReplied,
    Slept,
    ToolsFinished,
)
from lllm_domain.agent_state import (
    CallState,
    GiveUp,
    Phase,
    Recall,
    RetryAfter,
    after_api_error,
    after_parse_failure,
    after_reply,
    after_tool_round,
    before_request,
    budget_exceeded,
    offers_tools,
    start_tool_round,
)
from lllm_domain.dialog import Dialog
from lllm_domain.errors import AgentCallProtocolError
from lllm_domain.limits import Budget, CallLimits, RetryPolicy
from lllm_domain.message import Message, Role
from lllm_domain.testing import api_error
from lllm_domain.usage import Cost, Usage

from tests.support.domain_builders import answer_prompt

LIMITS = CallLimits(
    max_exception_retry=2,
    max_interrupt_times=2,
    max_llm_recall=1,
    retry=RetryPolicy(max_attempts=3, max_total_wait=10.0, base_delay=1.0, jitter=0.5),
)


def test_the_state_is_a_frozen_value() -> None:
    state = CallState()
    with pytest.raises(AttributeError):
        state.requests = 3  # type: ignore[misc]
    assert CallState.initial(LIMITS) == CallState()
    assert CallState.initial(CallLimits(max_interrupt_times=0)).tools_withheld


@pytest.mark.parametrize(
    ("transient_errors", "waited", "retry_after", "expected"),
    [
        (0, 0.0, None, RetryAfter(1.0 * (1 - 0.5 * 0.5))),  # first backoff, half the jitter
        (1, 0.0, None, RetryAfter(2.0 * (1 - 0.5 * 0.5))),  # doubled
        (0, 0.0, 4.0, RetryAfter(4.0)),  # the server's delay as it is
        (2, 0.0, 1.0, RetryAfter(1.0)),  # the third retry is still allowed
        (3, 0.0, 1.0, GiveUp(transient=True)),  # max_attempts=3 spent
        (0, 9.5, 1.0, GiveUp(transient=True)),  # would wait past max_total_wait
        (0, 9.0, 1.0, RetryAfter(1.0)),  # exactly up to max_total_wait is fine
    ],
)
def test_transient_failures_follow_the_retry_policy(
    transient_errors: int, waited: float, retry_after: float | None, expected: object
) -> None:
    state = CallState(phase=Phase.CALLING_MODEL, transient_errors=transient_errors, waited=waited)
    after, decision = after_api_error(
        state, LIMITS, retryable=True, retry_after=retry_after, sample=0.5
    )
    assert decision == expected
    assert after.transient_errors == transient_errors + 1
    if isinstance(decision, RetryAfter):
        assert after.phase is Phase.SLEEPING and after.waited == waited + decision.delay
    else:
        assert after.phase is Phase.FAILED and after.waited == waited


@pytest.mark.parametrize(("recalls", "expected"), [(0, Recall()), (1, GiveUp(transient=False))])
def test_non_transient_failures_are_recalled_within_max_llm_recall(
    recalls: int, expected: object
) -> None:
    state = CallState(phase=Phase.CALLING_MODEL, recalls=recalls)
    after, decision = after_api_error(state, LIMITS, retryable=False, retry_after=None, sample=0)
    assert decision == expected and after.recalls == recalls + 1
    assert after.transient_errors == 0 and after.waited == 0


def test_every_failure_decision_is_bounded() -> None:
    # Whatever mix of failures arrives, the call gives up within the policy's bounds.
    for pattern in itertools.product([True, False], repeat=6):
        state = CallState()
        for retryable in pattern:
            state, decision = after_api_error(
                state, LIMITS, retryable=retryable, retry_after=None, sample=0.0
            )
            if isinstance(decision, GiveUp):
                break
        assert state.recalls <= LIMITS.max_llm_recall + 1
        assert state.transient_errors <= LIMITS.retry.max_attempts + 1
        assert state.waited <= LIMITS.retry.max_total_wait


@pytest.mark.parametrize(
    ("state", "budget", "expected"),
    [
        (CallState(requests=2), Budget(max_requests=3), None),
        (CallState(requests=3), Budget(max_requests=3), "requests"),
        (CallState(usage=Usage(60, 40)), Budget(max_tokens=100), "tokens"),
        (CallState(usage=Usage(60, 39)), Budget(max_tokens=100), None),
        (CallState(cost=Cost(input_usd=0.5, output_usd=0.5)), Budget(max_cost_usd=1.0), "cost"),
        (CallState(requests=99, usage=Usage(9, 9)), Budget(), None),
    ],
)
def test_the_budget_is_checked_before_each_request(
    state: CallState, budget: Budget, expected: str | None
) -> None:
    problem = budget_exceeded(state, budget)
    assert (problem[0] if problem else None) == expected


def test_parse_failures_are_retried_up_to_max_exception_retry() -> None:
    state = CallState()
    outcomes = []
    for _ in range(3):
        state, again = after_parse_failure(state, LIMITS)
        outcomes.append(again)
    assert outcomes == [True, True, False]
    assert state.phase is Phase.FAILED and state.parse_failures == 3
    # A tool round settles the turn: its parse failures start again from zero.
    assert start_tool_round(state).parse_failures == 0


def test_tool_rounds_withhold_tools_after_the_last_one() -> None:
    state = CallState()
    state, final = after_tool_round(state, LIMITS)
    assert (final, state.tool_rounds, offers_tools(state)) == (False, 1, True)
    state, final = after_tool_round(state, LIMITS)
    assert (final, state.tool_rounds, offers_tools(state)) == (True, 2, False)


def test_requests_and_replies_count_usage_and_reset_the_transient_count() -> None:
    state = before_request(CallState(transient_errors=2))
    assert (state.phase, state.requests) == (Phase.CALLING_MODEL, 1)
    reply = Message(
        Role.ASSISTANT, "hi", "a", usage=Usage(3, 4), cost=Cost(input_usd=0.1, output_usd=0.2)
    )
    state = after_reply(after_reply(state, reply), reply)
    assert state.usage == Usage(6, 8) and state.cost == Cost(input_usd=0.2, output_usd=0.4)
    assert state.transient_errors == 0


# -- phases and events -------------------------------------------------------------------------


def _machine() -> AgentCall:
    dialog = Dialog(ids=lambda: "d")
    dialog.send_prompt(answer_prompt(), {"question": "q"})
    return AgentCall(dialog, model="m", agent_name="tester")


EVENTS = {
    ModelReplied: ModelReplied(Message(Role.ASSISTANT, "<answer>1</answer>", "tester")),
    ModelFailed: ModelFailed(api_error(500, retryable=True)),
    CallerFailed: CallerFailed("returned None"),
    ToolsFinished: ToolsFinished(()),
    Slept: Slept(),
}


@pytest.mark.parametrize("event_type", [t for t in EVENTS if t not in ACCEPTS[Phase.CALLING_MODEL]])
def test_an_event_the_phase_does_not_accept_is_a_typed_error_naming_the_phase(
    event_type: type,
) -> None:
    machine = _machine()
    assert isinstance(machine.start(), CallModel)
    assert machine.state.phase is Phase.CALLING_MODEL
    with pytest.raises(
        AgentCallProtocolError, match="phase 'calling_model'.*" + event_type.__name__
    ):
        machine.send(EVENTS[event_type])


def test_a_finished_machine_accepts_nothing_and_cannot_start_again() -> None:
    machine = _machine()
    machine.start()
    with pytest.raises(StopIteration):
        machine.send(EVENTS[ModelReplied])
    assert machine.state.phase is Phase.DONE
    with pytest.raises(AgentCallProtocolError, match="phase 'done'"):
        machine.send(EVENTS[ModelReplied])
    with pytest.raises(AgentCallProtocolError, match="starts once"):
        machine.start()


def test_a_failed_machine_says_so() -> None:
    machine = _machine()
    machine.start()
    with pytest.raises(Exception, match="broke its contract"):
        machine.send(EVENTS[CallerFailed])
    assert machine.state.phase is Phase.FAILED
    with pytest.raises(AgentCallProtocolError, match="phase 'failed'"):
        machine.send(EVENTS[ModelReplied])


def test_the_state_tracks_the_call() -> None:
    machine = _machine()
    machine.start()
    machine.send(ModelFailed(api_error(503, retryable=True, retry_after=2.0)))
    assert machine.state == evolve(
        CallState(), phase=Phase.SLEEPING, requests=1, transient_errors=1, waited=2.0
    )
    machine.send(Slept())
    assert machine.state.phase is Phase.CALLING_MODEL and machine.state.requests == 2
