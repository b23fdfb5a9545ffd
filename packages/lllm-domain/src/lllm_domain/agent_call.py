"""The agent call: a deterministic, sans-IO state machine and its two drivers.

The machine (:class:`AgentCall`) decides what happens next and emits one *action* at a time:
call the model with this request, run this tool, sleep this long. A driver performs the action
through the ports and feeds the outcome back as an *event*. The machine ends in exactly one of two
ways: it returns an :class:`AgentResult` (a parsed final response) or raises an
:class:`~lllm_domain.errors.AgentCallError`. Because all I/O is in the drivers,
:func:`run_sync` and :func:`run_async` produce identical transcripts for the same script.

One turn, in order:

1. Check the budget, then call the model with the dialog and the current prompt's tools/format.
2. A transient API error is retried after a backoff sleep (honouring the server's delay) without
   spending the exception budget; another API error is retried up to ``max_llm_recall`` times.
3. A reply with tool calls is appended; each call runs in order (a repeat of an earlier call is
   not run again, an unknown tool or invalid arguments become error results) and the results are
   appended through the interrupt handler. After ``max_interrupt_times`` rounds the
   final-interrupt handler is used and no more tools are offered.
4. A reply that fails to parse goes onto a *working copy* with the exception handler, and the
   model tries again, up to ``max_exception_retry`` times. The returned dialog holds only the
   final reply, which carries the failed replies as ``attempts``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Mapping
from typing import Any

from attrs import define, field

from lllm_domain.dialog import Dialog
from lllm_domain.errors import (
    AgentCallError,
    BudgetExceededError,
    LLMAPIError,
    LLMRetriesExhaustedError,
    ParseError,
    ParseRetriesExhaustedError,
)
from lllm_domain.function import Function
from lllm_domain.limits import CallLimits
from lllm_domain.message import EMPTY_MAPPING, Creator, FunctionCall, Message, Role
from lllm_domain.ports import AsyncLLMCaller, Clock, LLMCaller
from lllm_domain.prompt import Prompt
from lllm_domain.request import DeltaCallback, LLMRequest
from lllm_domain.usage import Cost, Usage

ReplyParser = Callable[[Message, Prompt], Any]
"""Turns a model reply into its parsed payload or raises ParseError (default: the prompt's
parser over the reply text)."""

TOOLS_UNAVAILABLE = (
    "Tools are not available at this point. Do not call any tool: give your final response as text."
)

PLAIN_PROMPT = Prompt("__plain__", "{text}")
"""Used when a dialog has no top prompt: no tools, no parsing beyond the raw text."""


def parse_with_prompt(message: Message, prompt: Prompt) -> Any:
    """The default reply parser: the prompt's parser applied to the reply's text."""
    return prompt.parse(message.content)


# -- actions (machine -> driver) and events (driver -> machine) ------------------------------


@define(frozen=True, slots=True)
class CallModel:
    """Action: send ``request`` to the model."""

    request: LLMRequest


@define(frozen=True, slots=True)
class RunTool:
    """Action: run ``function`` for ``call``."""

    function: Function
    call: FunctionCall


@define(frozen=True, slots=True)
class Sleep:
    """Action: wait ``seconds`` before retrying after ``error``."""

    seconds: float
    error: LLMAPIError


Action = CallModel | RunTool | Sleep


@define(frozen=True, slots=True)
class ModelReplied:
    """Event: the model answered."""

    message: Message


@define(frozen=True, slots=True)
class ModelFailed:
    """Event: the model request failed."""

    error: LLMAPIError


@define(frozen=True, slots=True)
class ToolFinished:
    """Event: a tool ran (successfully or not); ``call`` carries the outcome."""

    call: FunctionCall


@define(frozen=True, slots=True)
class Slept:
    """Event: the requested sleep is over."""


SLEPT = Slept()
Event = ModelReplied | ModelFailed | ToolFinished | Slept


# -- the result ------------------------------------------------------------------------------


@define(frozen=True, slots=True)
class AgentResult:
    """A finished agent call: the final reply, the dialog it ends, and the tool-call trace.

    ``usage``, ``cost`` and ``requests`` cover every model request of this call, failed
    attempts included.
    """

    message: Message
    dialog: Dialog = field(eq=False)
    function_calls: tuple[FunctionCall, ...] = ()
    usage: Usage = field(factory=Usage)
    cost: Cost = field(factory=Cost)
    requests: int = 0

    @property
    def parsed(self) -> Any:
        """The parsed payload of the final reply."""
        return self.message.parsed

    @property
    def content(self) -> str:
        """The text of the final reply."""
        return self.message.content


# -- the machine -----------------------------------------------------------------------------


class AgentCall:
    """One agent call as a state machine. Drive it with :func:`run_sync` / :func:`run_async`, or
    by hand: ``action = call.start()``, then ``action = call.send(event)`` until it returns an
    :class:`AgentResult` (via ``StopIteration``) or raises :class:`AgentCallError`.

    The dialog passed in is the one returned: only successful turns are appended to it.
    """

    def __init__(
        self,
        dialog: Dialog,
        *,
        model: str,
        agent_name: str = "",
        prompt: Prompt | None = None,
        model_args: Mapping[str, Any] = EMPTY_MAPPING,
        limits: CallLimits | None = None,
        api_type: str = "completion",
        rng: random.Random | None = None,
        reply_parser: ReplyParser = parse_with_prompt,
        on_delta: DeltaCallback | None = None,
    ) -> None:
        self.dialog = dialog
        self.prompt = prompt or dialog.top_prompt or PLAIN_PROMPT
        self.model = model
        self.agent_name = agent_name or dialog.agent_name or ""
        self.model_args = model_args
        self.limits = limits or CallLimits()
        self.api_type = api_type
        self.rng = rng or random.Random()
        self.reply_parser = reply_parser
        self.on_delta = on_delta
        self.trace: list[FunctionCall] = []
        self.attempts: list[Message] = []
        self.api_errors: list[LLMAPIError] = []
        self.requests = 0
        self.usage = Usage()
        self.cost = Cost()
        self.waited = 0.0
        self.interrupts = 0
        # max_interrupt_times bounds the tool rounds: with 0 there are none, so offer no tools.
        self.tools_withheld = self.limits.max_interrupt_times == 0
        self._work: Dialog | None = None
        self._recalls = 0
        self._steps = self._run()

    # -- driving -----------------------------------------------------------------------------

    def start(self) -> Action:
        """The first action."""
        return next(self._steps)

    def send(self, event: Event) -> Action:
        """Feed the outcome of the last action; get the next action."""
        return self._steps.send(event)

    # -- the machine itself ------------------------------------------------------------------

    def _run(self) -> Generator[Action, Event, AgentResult]:
        limits = self.limits
        parse_failures = 0
        while True:
            reply = yield from self._ask_model()
            if reply.function_calls and not self.tools_withheld and self.prompt.functions:
                self.dialog.append(self._settle(reply))
                parse_failures = 0
                yield from self._run_tools(reply.function_calls)
                continue
            try:
                if reply.function_calls:
                    raise ParseError(TOOLS_UNAVAILABLE)
                parsed = self.reply_parser(reply, self.prompt)
            except ParseError as exc:
                failed = reply.replace(errors=exc.problems)
                self.attempts.append(failed)
                parse_failures += 1
                if parse_failures > limits.max_exception_retry:
                    raise ParseRetriesExhaustedError(
                        f"agent {self.agent_name!r}: the reply to prompt {self.prompt.path!r} "
                        f"failed to parse {parse_failures} times (max_exception_retry="
                        f"{limits.max_exception_retry}); last problems: {exc}",
                        **self._context(),
                    ) from exc
                work = self._work or self.dialog.fork()
                self._work = work
                work.append(failed)
                for call in failed.function_calls:
                    # Every tool call must be answered before the next user turn, or the API
                    # rejects the conversation; the refusal is the answer.
                    work.send_message(
                        f"Error: {TOOLS_UNAVAILABLE}",
                        role=Role.TOOL,
                        creator=Creator.FUNCTION,
                        tool_call_id=call.id,
                    )
                work.send_prompt(
                    self.prompt.exception_handler,
                    {"error_message": str(exc)},
                    creator=Creator.EXCEPTION,
                    set_top=False,
                )
                continue
            final = self._settle(reply.replace(parsed=parsed))
            self.dialog.append(final)
            return AgentResult(
                final, self.dialog, tuple(self.trace), self.usage, self.cost, self.requests
            )

    def _settle(self, reply: Message) -> Message:
        """Attach this turn's failed attempts to its successful reply; drop the working copy."""
        if self.attempts:
            reply = reply.replace(attempts=tuple(self.attempts))
            self.attempts = []
        self._work = None
        return reply

    def _ask_model(self) -> Generator[Action, Event, Message]:
        limits = self.limits
        request = self._request()
        transient = 0
        while True:
            self._check_budget()
            self.requests += 1
            event = yield CallModel(request)
            if isinstance(event, ModelReplied):
                reply = event.message
                if reply.usage is not None:
                    self.usage = self.usage + reply.usage
                if reply.cost is not None:
                    self.cost = self.cost + reply.cost
                return reply
            if not isinstance(event, ModelFailed):
                raise TypeError(f"expected ModelReplied or ModelFailed, got {event!r}")
            error = event.error
            self.api_errors.append(error)
            if error.retryable:
                transient += 1
                policy = limits.retry
                delay = (
                    error.retry_after
                    if error.retry_after is not None
                    else policy.backoff(transient, self.rng)
                )
                if transient > policy.max_attempts or self.waited + delay > policy.max_total_wait:
                    raise LLMRetriesExhaustedError(
                        f"agent {self.agent_name!r}: the model endpoint kept failing "
                        f"({transient} transient error(s), {self.waited:.1f}s waited; "
                        f"retry policy allows {policy.max_attempts} retries and "
                        f"{policy.max_total_wait:.0f}s). Last error: {error}",
                        **self._context(),
                    ) from error
                self.waited += delay
                yield Sleep(delay, error)
                continue
            self._recalls += 1
            if self._recalls > limits.max_llm_recall:
                raise AgentCallError(
                    f"agent {self.agent_name!r}: the model request failed and is not retryable "
                    f"(max_llm_recall={limits.max_llm_recall}): {error}",
                    **self._context(),
                ) from error

    def _request(self) -> LLMRequest:
        source = self._work or self.dialog
        prompt = self.prompt
        tools = () if self.tools_withheld else prompt.functions
        return LLMRequest(
            messages=tuple(source.messages),
            model=self.model,
            model_args=self.model_args,
            tools=tools,
            mcp_servers=() if self.tools_withheld else prompt.mcp_servers,
            output_format=prompt.format,
            allow_web_search=prompt.allow_web_search and not self.tools_withheld,
            computer_use=None if self.tools_withheld else prompt.computer_use_config,
            api_type=self.api_type,
            agent_name=self.agent_name,
            session=source.session,
            dialog_id=source.dialog_id,
            parent_dialog_id=source.parent_id,
            prompt_path=prompt.path,
            turn=len(source),
            on_delta=self.on_delta,
        )

    def _run_tools(self, calls: tuple[FunctionCall, ...]) -> Generator[Action, Event, None]:
        done: list[FunctionCall] = []
        for call in calls:
            earlier = next((c for c in self.trace if c.is_repeated(call)), None)
            if earlier is not None:
                outcome = FunctionCall(
                    call.id,
                    call.name,
                    call.arguments,
                    call.raw_arguments,
                    call.arguments_error,
                    result=earlier.result,
                    result_text=(
                        f"This call repeats an earlier call of {call.name!r} with the same "
                        "arguments, so it was not run again. Reuse the earlier result:\n"
                        f"{earlier.result_text}"
                    ),
                    error=earlier.error,
                )
            else:
                function = self.prompt.function(call.name)
                if function is None:
                    names = ", ".join(f.name for f in self.prompt.functions)
                    outcome = call.with_error(
                        f"there is no tool named {call.name!r}; available tools: {names}"
                    )
                else:
                    event = yield RunTool(function, call)
                    if not isinstance(event, ToolFinished):
                        raise TypeError(f"expected ToolFinished, got {event!r}")
                    outcome = event.call
            self.trace.append(outcome)
            done.append(outcome)
        self.interrupts += 1
        final_round = self.interrupts >= self.limits.max_interrupt_times
        handler = self.prompt.interrupt_handler
        last = len(done) - 1
        for i, outcome in enumerate(done):
            if final_round and i == last:
                handler = self.prompt.final_interrupt_handler
            self.dialog.send_prompt(
                handler,
                {"call_results": outcome.result_text or ""},
                role=Role.TOOL,
                creator=Creator.FUNCTION,
                tool_call_id=outcome.id,
                set_top=False,
            )
        if final_round:
            self.tools_withheld = True

    def _check_budget(self) -> None:
        budget = self.limits.budget
        problem = None
        if budget.max_requests is not None and self.requests >= budget.max_requests:
            problem = (
                "requests",
                f"{self.requests} model requests made, max_requests={budget.max_requests}",
            )
        elif budget.max_tokens is not None and self.usage.total_tokens >= budget.max_tokens:
            problem = (
                "tokens",
                f"{self.usage.total_tokens} tokens used, max_tokens={budget.max_tokens}",
            )
        elif budget.max_cost_usd is not None and self.cost.total_usd >= budget.max_cost_usd:
            problem = (
                "cost",
                f"${self.cost.total_usd:.6f} spent, max_cost_usd={budget.max_cost_usd}",
            )
        if problem is not None:
            raise BudgetExceededError(
                f"agent {self.agent_name!r}: budget reached before the call finished "
                f"({problem[1]}). The dialog and tool-call trace so far are on this error.",
                limit=problem[0],
                **self._context(),
            )

    def _context(self) -> dict[str, Any]:
        return {
            "dialog": self.dialog,
            "function_calls": tuple(self.trace),
            "attempts": tuple(self.attempts),
            "api_errors": tuple(self.api_errors),
        }


# -- drivers ---------------------------------------------------------------------------------


def run_sync(call: AgentCall, caller: LLMCaller, clock: Clock) -> AgentResult:
    """Drive ``call`` to its end with blocking I/O."""
    steps = call._steps
    try:
        action = next(steps)
        while True:
            event: Event
            if type(action) is CallModel:
                try:
                    event = ModelReplied(caller.call(action.request))
                except LLMAPIError as exc:
                    event = ModelFailed(exc)
            elif type(action) is RunTool:
                event = ToolFinished(action.function.invoke(action.call))
            elif type(action) is Sleep:
                clock.sleep(action.seconds)
                event = SLEPT
            else:  # pragma: no cover - the machine emits only the actions above
                raise TypeError(f"unknown action {action!r}")
            action = steps.send(event)
    except StopIteration as stop:
        result: AgentResult = stop.value
        return result


async def run_async(call: AgentCall, caller: AsyncLLMCaller, clock: Clock) -> AgentResult:
    """Drive ``call`` to its end with async I/O (async tools are awaited)."""
    steps = call._steps
    try:
        action = next(steps)
        while True:
            event: Event
            if type(action) is CallModel:
                try:
                    event = ModelReplied(await caller.acall(action.request))
                except LLMAPIError as exc:
                    event = ModelFailed(exc)
            elif type(action) is RunTool:
                event = ToolFinished(await action.function.ainvoke(action.call))
            elif type(action) is Sleep:
                await clock.asleep(action.seconds)
                event = SLEPT
            else:  # pragma: no cover
                raise TypeError(f"unknown action {action!r}")
            action = steps.send(event)
    except StopIteration as stop:
        result: AgentResult = stop.value
        return result
