"""The state of one agent call, and every decision that depends on it.

Everything that decides what an agent call does next lives in this file, as pure functions of
a frozen :class:`CallState` and the call's :class:`~lllm_domain.limits.CallLimits`: whether a
failed request is retried (and after how long), recalled or given up, whether a reply that
failed to parse is asked again, whether the budget allows another request, and when tools are
withheld. The machine in :mod:`lllm_domain.agent_call` only sequences these decisions; tests can
enumerate them without a model, a dialog or a driver.
"""

from __future__ import annotations

import enum
from operator import attrgetter
from typing import Any

import attrs
from attrs import define, field

from lllm_domain.limits import Budget, CallLimits
from lllm_domain.message import Message
from lllm_domain.usage import Cost, Usage


class Phase(enum.Enum):
    """Where an agent call is; each phase accepts only its own events."""

    READY = "ready"
    """Not started: the driver calls ``start()``."""
    CALLING_MODEL = "calling_model"
    """Waiting for the model's reply (``ModelReplied``, ``ModelFailed`` or ``CallerFailed``)."""
    SLEEPING = "sleeping"
    """Backing off before a retry (``Slept``)."""
    RUNNING_TOOLS = "running_tools"
    """Waiting for one reply's tool calls to run (``ToolsFinished``)."""
    USING_COMPUTER = "using_computer"
    """Waiting for one reply's computer calls to run (``ComputerFinished``)."""
    DONE = "done"
    """Ended with a parsed final response."""
    FAILED = "failed"
    """Ended with an :class:`~lllm_domain.errors.AgentCallError` (or a driver error)."""


@define(frozen=True, slots=True)
class CallState:
    """Everything an agent call's decisions depend on.

    ``transient_errors`` counts the transient failures of the current request,
    ``parse_failures`` the replies of the current turn that failed to parse, ``recalls`` the
    non-transient failures retried so far, ``waited`` the seconds slept in backoff.
    """

    phase: Phase = Phase.READY
    requests: int = 0
    transient_errors: int = 0
    recalls: int = 0
    parse_failures: int = 0
    tool_rounds: int = 0
    waited: float = 0.0
    tools_withheld: bool = False
    usage: Usage = field(factory=Usage)
    cost: Cost = field(factory=Cost)
    computer_steps: int = 0

    @classmethod
    def initial(cls, limits: CallLimits) -> CallState:
        """The state before the first request. With ``max_interrupt_times=0`` there are no
        tool rounds, so tools are withheld from the start."""
        return cls(tools_withheld=limits.max_interrupt_times == 0)


_FIELDS = tuple(a.name for a in attrs.fields(CallState))
_INDEX = {name: i for i, name in enumerate(_FIELDS)}
_VALUES = attrgetter(*_FIELDS)


def evolve(state: CallState, **changes: Any) -> CallState:
    """``state`` with ``changes``: :func:`attrs.evolve` without its per-call introspection,
    since the agent call makes a few of these every turn."""
    values = list(_VALUES(state))
    for name, value in changes.items():
        values[_INDEX[name]] = value
    return CallState(*values)


# -- decisions after a failed request --------------------------------------------------------


@define(frozen=True, slots=True)
class RetryAfter:
    """Retry the same request after ``delay`` seconds (a transient failure)."""

    delay: float


@define(frozen=True, slots=True)
class Recall:
    """Send the request again now (a non-transient failure within ``max_llm_recall``)."""


@define(frozen=True, slots=True)
class GiveUp:
    """End the call: ``transient`` tells whether the retry policy or the recall limit ran out."""

    transient: bool


FailureDecision = RetryAfter | Recall | GiveUp


def after_api_error(
    state: CallState,
    limits: CallLimits,
    *,
    retryable: bool,
    retry_after: float | None,
    sample: float,
) -> tuple[CallState, FailureDecision]:
    """What to do after a failed request. ``sample`` is a random number in [0, 1) for the
    backoff's jitter; a server-given ``retry_after`` is used as it is."""
    if retryable:
        attempt = state.transient_errors + 1
        policy = limits.retry
        delay = retry_after if retry_after is not None else policy.delay(attempt, sample)
        state = evolve(state, transient_errors=attempt)
        if attempt > policy.max_attempts or state.waited + delay > policy.max_total_wait:
            return evolve(state, phase=Phase.FAILED), GiveUp(transient=True)
        return evolve(state, phase=Phase.SLEEPING, waited=state.waited + delay), RetryAfter(delay)
    state = evolve(state, recalls=state.recalls + 1)
    if state.recalls > limits.max_llm_recall:
        return evolve(state, phase=Phase.FAILED), GiveUp(transient=False)
    return state, Recall()


# -- decisions around requests, replies and tools --------------------------------------------


def budget_exceeded(state: CallState, budget: Budget) -> tuple[str, str] | None:
    """``(limit, explanation)`` when the budget forbids another request, else ``None``."""
    if budget.max_requests is not None and state.requests >= budget.max_requests:
        return (
            "requests",
            f"{state.requests} model requests made, max_requests={budget.max_requests}",
        )
    if budget.max_tokens is not None and state.usage.total_tokens >= budget.max_tokens:
        return (
            "tokens",
            f"{state.usage.total_tokens} tokens used, max_tokens={budget.max_tokens}",
        )
    if budget.max_cost_usd is not None and state.cost.total_usd >= budget.max_cost_usd:
        return ("cost", f"${state.cost.total_usd:.6f} spent, max_cost_usd={budget.max_cost_usd}")
    return None


def before_request(state: CallState) -> CallState:
    """A request is about to be sent."""
    return evolve(state, phase=Phase.CALLING_MODEL, requests=state.requests + 1)


def after_reply(state: CallState, reply: Message) -> CallState:
    """The model answered: count its usage and cost; the request's transient errors are over."""
    if reply.usage is None and reply.cost is None and not state.transient_errors:
        return state
    usage = state.usage + reply.usage if reply.usage is not None else state.usage
    cost = state.cost + reply.cost if reply.cost is not None else state.cost
    return evolve(state, usage=usage, cost=cost, transient_errors=0)


def offers_tools(state: CallState) -> bool:
    """Whether the next request offers the prompt's tools."""
    return not state.tools_withheld


def after_parse_failure(state: CallState, limits: CallLimits) -> tuple[CallState, bool]:
    """A reply failed to parse: the new state and whether the model is asked again."""
    failures = state.parse_failures + 1
    if failures > limits.max_exception_retry:
        return evolve(state, parse_failures=failures, phase=Phase.FAILED), False
    return evolve(state, parse_failures=failures), True


def start_tool_round(state: CallState) -> CallState:
    """A reply asked for tools that will run: the turn's parse failures are settled."""
    return evolve(state, phase=Phase.RUNNING_TOOLS, parse_failures=0)


def after_tool_round(state: CallState, limits: CallLimits) -> tuple[CallState, bool]:
    """A round of tool calls finished: the new state and whether it was the last round (its
    last result goes through the final-interrupt handler and tools are withheld from now on)."""
    rounds = state.tool_rounds + 1
    final = rounds >= limits.max_interrupt_times
    return evolve(state, tool_rounds=rounds, tools_withheld=state.tools_withheld or final), final


def start_computer_round(
    state: CallState, limits: CallLimits, steps: int
) -> tuple[CallState, bool]:
    """A reply asked for ``steps`` computer actions: the new state and whether they may run
    (they may not once the call's steps would pass ``max_computer_steps``)."""
    total = state.computer_steps + steps
    if total > limits.max_computer_steps:
        return evolve(state, computer_steps=total, phase=Phase.FAILED), False
    return evolve(state, computer_steps=total, phase=Phase.USING_COMPUTER, parse_failures=0), True


def finished(state: CallState) -> CallState:
    """The call ended with a parsed final response."""
    return evolve(state, phase=Phase.DONE)
