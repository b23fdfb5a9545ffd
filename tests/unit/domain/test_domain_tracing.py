"""The tracing port: the drivers tell a tracer each step, the same for both drivers, and an
untraced call pays nothing but no-op hooks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from lllm_domain import CallLimits, tool
from lllm_domain.agent_call import AgentCall, AgentResult, ModelReplied, Sleep, ToolRun
from lllm_domain.errors import BudgetExceededError
from lllm_domain.limits import Budget
from lllm_domain.message import FunctionCall, Message
from lllm_domain.request import LLMRequest
from lllm_domain.testing import api_error, call, tool_calls
from lllm_domain.tracing import NO_TRACE, CallTrace, NullTracer

from tests.support.domain_builders import answer_prompt, make_agent

if TYPE_CHECKING:
    from lllm_domain.tracing import ModelOutcome


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


class RecordingTracer:
    """Records every hook as a short line."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def agent_call(self, call: AgentCall) -> CallTrace:
        self.lines.append(f"start {call.agent_name}")
        return _Trace(self.lines)


class _Trace:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    @contextmanager
    def _scope(self, request: LLMRequest) -> Iterator[None]:
        self.lines.append(f"request turn={request.turn}")
        yield

    def model_request(self, request: LLMRequest) -> AbstractContextManager[object]:
        return self._scope(request)

    def model_outcome(self, outcome: ModelOutcome) -> None:
        kind = "reply" if isinstance(outcome, ModelReplied) else "failed"
        self.lines.append(kind)

    def retrying(self, sleep: Sleep, attempt: int, max_attempts: int) -> None:
        self.lines.append(f"retry {attempt}/{max_attempts}")

    def parse_failed(self, reply: Message) -> None:
        self.lines.append(f"parse failed: {reply.content}")

    def run_tool(self, run: ToolRun) -> FunctionCall:
        self.lines.append(f"tool {run.call.name}")
        return run.function.invoke(run.call)

    async def _arun(self, run: ToolRun) -> FunctionCall:
        self.lines.append(f"tool {run.call.name}")
        return await run.function.ainvoke(run.call)

    def arun_tool(self, run: ToolRun) -> Awaitable[FunctionCall]:
        return self._arun(run)

    def end(self, result: AgentResult | None, error: BaseException | None) -> None:
        self.lines.append(f"end {type(error).__name__ if error else result and result.content}")


SCRIPT: list[Any] = [
    api_error(503),
    tool_calls(call("add", a=1, b=2)),
    "no tag",
    "<answer>3</answer>",
]
EXPECTED = [
    "start tester",
    "request turn=2",
    "failed",
    "retry 1/6",
    "request turn=2",
    "reply",
    "tool add",
    "request turn=4",
    "reply",
    "parse failed: no tag",
    "request turn=6",  # the working copy: the failed reply and the exception handler
    "reply",
    "end <answer>3</answer>",
]


def test_the_sync_driver_tells_the_tracer_every_step_in_order() -> None:
    agent, _, _ = make_agent(list(SCRIPT))
    agent.tracer = tracer = RecordingTracer()

    agent.call(agent.init_dialog(), answer_prompt(functions=(add,)), {"question": "1+2?"})

    assert tracer.lines == EXPECTED


def test_the_async_driver_tells_the_tracer_the_same_steps() -> None:
    agent, _, _ = make_agent(list(SCRIPT))
    agent.tracer = tracer = RecordingTracer()

    asyncio.run(
        agent.acall(agent.init_dialog(), answer_prompt(functions=(add,)), {"question": "1+2?"})
    )

    assert tracer.lines == EXPECTED


def test_a_failed_call_ends_its_trace_with_the_error() -> None:
    agent, _, _ = make_agent(
        [tool_calls(call("add", a=1, b=2))], limits=CallLimits(budget=Budget(max_requests=1))
    )
    agent.tracer = tracer = RecordingTracer()

    with pytest.raises(BudgetExceededError):
        agent.call(agent.init_dialog(), answer_prompt(functions=(add,)), {"question": "?"})

    assert tracer.lines[-1] == "end BudgetExceededError"


def test_the_null_tracer_and_no_tracer_run_tools_and_record_nothing() -> None:
    assert NullTracer().agent_call(object()) is NO_TRACE  # type: ignore[arg-type]
    agent, _, _ = make_agent([tool_calls(call("add", a=1, b=2)), "<answer>3</answer>"])
    agent.tracer = NullTracer()

    result = agent.call(agent.init_dialog(), answer_prompt(functions=(add,)), {"question": "?"})

    assert result.function_calls[0].result == 3
