"""The tracing port: what an agent call tells a tracer, step by step.

The drivers of :mod:`lllm_domain.agent_call` report each agent call to a :class:`Tracer` as it
runs: its start, each model request (an attempt and its outcome; retries of the same request
belong to it), each backoff, each reply that failed to parse, each tool execution and the end.
What becomes of it — spans in the OpenTelemetry GenAI conventions, say — is the adapter's
business (``lllm_adapters.tracing``); the domain depends on no tracing library.

Without a tracer the drivers use :data:`NO_TRACE`, whose hooks do nothing, so an untraced
call pays a few no-op method calls per turn.

A tracer that keeps a notion of "the current span" (OpenTelemetry does) makes the model
request current around the caller's call and the tool execution current around the tool, so
what they do inside — an HTTP request that carries ``traceparent``, a sub-agent's call — nests
under them.
"""

from __future__ import annotations

from collections.abc import Awaitable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Protocol, TypeAlias

if TYPE_CHECKING:
    from lllm_domain.agent_call import (
        AgentCall,
        AgentResult,
        CallerFailed,
        ModelFailed,
        ModelReplied,
        Sleep,
        ToolRun,
    )
    from lllm_domain.message import FunctionCall, Message
    from lllm_domain.request import LLMRequest

    ModelOutcome: TypeAlias = ModelReplied | ModelFailed | CallerFailed


class CallTrace(Protocol):
    """The trace of one agent call, told by its driver in order."""

    def model_request(self, request: LLMRequest) -> AbstractContextManager[object]:
        """Around one attempt at ``request`` (the caller's call). A retry sends the same
        request object again: it continues the request's trace rather than starting one."""
        ...

    def model_outcome(self, outcome: ModelOutcome) -> None:
        """How the last attempt ended: a reply (the request is over), an API error (it may be
        retried) or a broken caller contract."""
        ...

    def retrying(self, sleep: Sleep, attempt: int, max_attempts: int) -> None:
        """The driver backs off ``sleep.seconds`` before retry ``attempt`` of ``max_attempts``
        after the transient ``sleep.error``."""
        ...

    def parse_failed(self, reply: Message) -> None:
        """``reply`` did not parse (``reply.errors`` says why); the model is asked again."""
        ...

    def run_tool(self, run: ToolRun) -> FunctionCall:
        """Execute ``run`` (``run.function.invoke(run.call)``) inside its trace."""
        ...

    def arun_tool(self, run: ToolRun) -> Awaitable[FunctionCall]:
        """The async form of :meth:`run_tool` (``run.function.ainvoke(run.call)``)."""
        ...

    def end(self, result: AgentResult | None, error: BaseException | None) -> None:
        """The call ended with ``result``, or with ``error`` (an
        :class:`~lllm_domain.errors.AgentCallError`, a cancellation, a driver bug)."""
        ...


class Tracer(Protocol):
    """Makes the trace of each agent call (the port; adapters implement it)."""

    def agent_call(self, call: AgentCall) -> CallTrace:
        """Begin the trace of ``call`` (its agent, model, dialog and session are on it)."""
        ...


_NO_SCOPE: AbstractContextManager[object] = nullcontext()


class _NoTrace:
    """A trace that records nothing."""

    __slots__ = ()

    def model_request(self, request: LLMRequest) -> AbstractContextManager[object]:
        return _NO_SCOPE

    def model_outcome(self, outcome: ModelOutcome) -> None:
        return None

    def retrying(self, sleep: Sleep, attempt: int, max_attempts: int) -> None:
        return None

    def parse_failed(self, reply: Message) -> None:
        return None

    def run_tool(self, run: ToolRun) -> FunctionCall:
        return run.function.invoke(run.call)

    def arun_tool(self, run: ToolRun) -> Awaitable[FunctionCall]:
        return run.function.ainvoke(run.call)

    def end(self, result: AgentResult | None, error: BaseException | None) -> None:
        return None


NO_TRACE: CallTrace = _NoTrace()
"""The trace of an untraced call: every hook does nothing."""


class NullTracer:
    """A tracer that traces nothing (what an agent without a tracer behaves like)."""

    __slots__ = ()

    def agent_call(self, call: AgentCall) -> CallTrace:
        """:data:`NO_TRACE`, whatever the call."""
        return NO_TRACE
