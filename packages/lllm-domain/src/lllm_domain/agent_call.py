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
3. A reply with tool calls is appended; its calls are planned in order (a repeat of an earlier
   call is not run again but reuses that result, an unknown tool or invalid arguments become
   error results), the rest run (at once under ``run_async``) and the results are appended
   through the interrupt handler in the model's order (with the images of a result that is a
   :class:`~lllm_domain.tool_output.ToolOutput`). After ``max_interrupt_times`` rounds the
   final-interrupt handler is used and no more tools are offered.
4. A reply with computer calls (computer use) is appended; its calls run in order on the
   computer (at most ``max_computer_steps`` in the call) and each answer is a tool message
   holding the screenshot after it. A call whose safety checks the approval callback refused
   ends the call with :class:`~lllm_domain.errors.ComputerSafetyRefusedError`.
5. A reply that fails to parse goes onto a *working copy* with the exception handler, and the
   model tries again, up to ``max_exception_retry`` times. The returned dialog holds only the
   final reply, which carries the failed replies as ``attempts``.

The decisions (retry, recall, give up, budget, tool rounds) are pure functions of the frozen
:class:`~lllm_domain.agent_state.CallState` in :mod:`lllm_domain.agent_state`. The machine writes
nothing: appends wait in the dialogs' outboxes and the drivers hand them to the log writer at
step boundaries (see :data:`HAND_OVER_AFTER`) and wait for all of them when the call ends.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from attrs import define, evolve, field

from lllm_domain.agent_state import (
    CallState,
    GiveUp,
    Phase,
    RetryAfter,
    after_api_error,
    after_parse_failure,
    after_reply,
    after_tool_round,
    before_request,
    budget_exceeded,
    finished,
    offers_tools,
    start_computer_round,
    start_tool_round,
)
from lllm_domain.computer.call import ComputerCall
from lllm_domain.dialog import Dialog
from lllm_domain.errors import (
    AgentCallError,
    AgentCallProtocolError,
    BudgetExceededError,
    CallerContractError,
    ComputerSafetyRefusedError,
    ComputerStepLimitError,
    ConfigError,
    LLLMError,
    LLMAPIError,
    LLMRetriesExhaustedError,
    ParseError,
    ParseRetriesExhaustedError,
)
from lllm_domain.function import Function
from lllm_domain.limits import CallLimits
from lllm_domain.log_writer import writer_for
from lllm_domain.message import (
    EMPTY_MAPPING,
    TOOL_ERROR_EXTRA,
    Creator,
    FunctionCall,
    Image,
    Message,
    Modality,
    Role,
)
from lllm_domain.ports import AsyncLLMCaller, Clock, LLMCaller
from lllm_domain.prompt import Prompt
from lllm_domain.request import DeltaCallback, LLMRequest
from lllm_domain.tool_output import images_of
from lllm_domain.tracing import NO_TRACE, CallTrace, Tracer
from lllm_domain.usage import Cost, Usage

if TYPE_CHECKING:
    from lllm_domain.computer.loop import ComputerOutput, ComputerUse

ReplyParser = Callable[..., Any]
"""``parser(reply, prompt, **parser_args)`` turns a model reply into its parsed payload or raises
ParseError (default: the prompt's parser over the reply text). ``parser_args`` are the agent
call's, passed only when given."""

TOOLS_UNAVAILABLE = (
    "Tools are not available at this point. Do not call any tool: give your final response as text."
)

PLAIN_PROMPT = Prompt("__plain__", "{text}")
"""Used when a dialog has no top prompt: no tools, no parsing beyond the raw text."""


def parse_with_prompt(message: Message, prompt: Prompt, **parser_args: Any) -> Any:
    """The default reply parser: the prompt's parser applied to the reply's text (with the
    call's ``parser_args``)."""
    return prompt.parse(message.content, **parser_args)


# -- actions (machine -> driver) and events (driver -> machine) ------------------------------


@define(frozen=True, slots=True)
class CallModel:
    """Action: send ``request`` to the model."""

    request: LLMRequest


@define(frozen=True, slots=True)
class ToolRun:
    """One tool call to run: ``function`` for ``call``."""

    function: Function
    call: FunctionCall


@define(frozen=True, slots=True)
class RunTools:
    """Action: run these tool calls of one reply and answer with their outcomes in the same
    order. They may run at once, at most ``max_parallel`` together."""

    runs: tuple[ToolRun, ...]
    max_parallel: int = 1


@define(frozen=True, slots=True)
class Sleep:
    """Action: wait ``seconds`` before retrying after ``error``."""

    seconds: float
    error: LLMAPIError


@define(frozen=True, slots=True)
class RunComputer:
    """Action: run these computer calls of one reply, in order, and answer with their outputs
    (see :func:`lllm_domain.computer.run_computer_call`)."""

    calls: tuple[ComputerCall, ...]


Action = CallModel | RunTools | Sleep | RunComputer


@define(frozen=True, slots=True)
class ModelReplied:
    """Event: the model answered."""

    message: Message


@define(frozen=True, slots=True)
class ModelFailed:
    """Event: the model request failed with an API error."""

    error: LLMAPIError


@define(frozen=True, slots=True)
class CallerFailed:
    """Event: the caller broke its contract (``problem`` says how; ``error`` is what it raised,
    if it raised)."""

    problem: str
    error: BaseException | None = None


@define(frozen=True, slots=True)
class ToolsFinished:
    """Event: the tool calls of a :class:`RunTools` ran (successfully or not), in its order."""

    calls: tuple[FunctionCall, ...]


@define(frozen=True, slots=True)
class Slept:
    """Event: the requested sleep is over."""


@define(frozen=True, slots=True)
class ComputerFinished:
    """Event: the computer calls of a :class:`RunComputer` ran (or were refused), in its order."""

    outputs: tuple[ComputerOutput, ...]


SLEPT = Slept()
Event = ModelReplied | ModelFailed | CallerFailed | ToolsFinished | Slept | ComputerFinished

ACCEPTS: dict[Phase, tuple[type, ...]] = {
    Phase.READY: (),
    Phase.CALLING_MODEL: (ModelReplied, ModelFailed, CallerFailed),
    Phase.SLEEPING: (Slept,),
    Phase.RUNNING_TOOLS: (ToolsFinished,),
    Phase.USING_COMPUTER: (ComputerFinished,),
    Phase.DONE: (),
    Phase.FAILED: (),
}
"""The events each phase accepts; any other event is an :class:`AgentCallProtocolError`."""


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
    :class:`AgentResult` (via ``StopIteration``) or raises :class:`AgentCallError`; close it
    with :meth:`close` when you stop early.

    ``state`` is the call's frozen :class:`~lllm_domain.agent_state.CallState`; its decisions
    are the pure functions of :mod:`lllm_domain.agent_state`. The machine does no I/O: what it
    appends to dialogs waits in their outboxes, which the drivers hand to the log writer at
    step boundaries and flush when the call ends.

    The dialog passed in is the one returned: only successful turns are appended to it.
    ``parser_args`` go to the reply parser; ``extra`` is merged into every reply's ``extra``
    (for tracking, e.g. an experiment id or frontend replay info), as the original's call
    arguments did.
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
        parser_args: Mapping[str, Any] = EMPTY_MAPPING,
        extra: Mapping[str, Any] = EMPTY_MAPPING,
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
        self.parser_args = parser_args
        self.extra = extra
        self.state = CallState.initial(self.limits)
        self.trace: list[FunctionCall] = []
        self.attempts: list[Message] = []
        self.api_errors: list[LLMAPIError] = []
        self._work: Dialog | None = None
        self._copies: list[Dialog] = []
        self._steps = self._run()

    # -- reading the state -------------------------------------------------------------------

    @property
    def requests(self) -> int:
        """Model requests made so far (failed ones included)."""
        return self.state.requests

    @property
    def usage(self) -> Usage:
        """Token usage of every reply so far."""
        return self.state.usage

    @property
    def cost(self) -> Cost:
        """Cost of every reply so far."""
        return self.state.cost

    # -- driving -----------------------------------------------------------------------------

    def start(self) -> Action:
        """The first action."""
        if self.state.phase is not Phase.READY:
            raise AgentCallProtocolError(
                f"agent call of {self.agent_name!r}: start() was called in phase "
                f"{self.state.phase.value!r}; a machine starts once"
            )
        return self._advance(None)

    def send(self, event: Event) -> Action:
        """Feed the outcome of the last action; get the next action."""
        phase = self.state.phase
        if type(event) not in ACCEPTS[phase]:
            accepted = ", ".join(t.__name__ for t in ACCEPTS[phase]) or "no event"
            raise AgentCallProtocolError(
                f"agent call of {self.agent_name!r} is in phase {phase.value!r}, which accepts "
                f"{accepted}; it was sent {type(event).__name__}"
            )
        return self._advance(event)

    def close(self) -> None:
        """Stop the machine (a no-op once it has ended)."""
        self._steps.close()

    def _advance(self, event: Event | None) -> Action:
        try:
            return self._steps.send(event)
        except StopIteration:
            raise
        except BaseException:
            self.state = evolve(self.state, phase=Phase.FAILED)
            raise

    # -- the outbox --------------------------------------------------------------------------

    def _dialogs(self) -> list[Dialog]:
        return [self.dialog, *self._copies]

    def hand_over(self) -> None:
        """Hand the records made so far to the log writer (no waiting, no I/O here)."""
        for dialog in self._dialogs():
            dialog.hand_over()

    def flush(self) -> None:
        """Write every record of this call and wait until they are stored."""
        for dialog in self._dialogs():
            dialog.flush()

    async def aflush(self) -> None:
        """The async form of :meth:`flush`."""
        for dialog in self._dialogs():
            await dialog.aflush()

    # -- the machine itself ------------------------------------------------------------------

    def _run(self) -> Generator[Action, Event | None, AgentResult]:
        while True:
            reply = yield from self._ask_model()
            if reply.computer_calls and self.prompt.computer_use_config is not None:
                self.dialog.append(self._settle(reply))
                yield from self._use_computer(reply.computer_calls)
                continue
            if reply.function_calls and offers_tools(self.state) and self.prompt.functions:
                self.dialog.append(self._settle(reply))
                yield from self._run_tools(reply.function_calls)
                continue
            try:
                if reply.function_calls:
                    raise ParseError(TOOLS_UNAVAILABLE)
                parsed = self.reply_parser(reply, self.prompt, **self.parser_args)
            except ParseError as exc:
                self._retry_parse(reply, exc)
                continue
            final = self._settle(reply.replace(parsed=parsed))
            self.dialog.append(final)
            self.state = finished(self.state)
            return AgentResult(
                final, self.dialog, tuple(self.trace), self.usage, self.cost, self.requests
            )

    def _retry_parse(self, reply: Message, exc: ParseError) -> None:
        failed = reply.replace(errors=exc.problems)
        self.attempts.append(failed)
        self.state, again = after_parse_failure(self.state, self.limits)
        if not again:
            raise ParseRetriesExhaustedError(
                f"agent {self.agent_name!r}: the reply to prompt {self.prompt.path!r} "
                f"failed to parse {self.state.parse_failures} times (max_exception_retry="
                f"{self.limits.max_exception_retry}); last problems: {exc}",
                **self._context(),
            ) from exc
        work = self._work
        if work is None:
            work = self._work = self.dialog.fork()
            self._copies.append(work)
        work.append(failed)
        for call in failed.function_calls:
            # Every tool call must be answered before the next user turn, or the API rejects
            # the conversation; the refusal is the answer.
            work.send_message(
                f"Error: {TOOLS_UNAVAILABLE}",
                role=Role.TOOL,
                creator=Creator.FUNCTION,
                tool_call_id=call.id,
                extra=TOOL_ERROR_EXTRA,
                set_top=False,
            )
        work.send_prompt(
            self.prompt.exception_handler,
            {"error_message": str(exc)},
            creator=Creator.EXCEPTION,
            set_top=False,
        )

    def _settle(self, reply: Message) -> Message:
        """Attach this turn's failed attempts to its successful reply; drop the working copy."""
        if self.attempts:
            reply = reply.replace(attempts=tuple(self.attempts))
            self.attempts = []
        self._work = None
        return reply

    def _ask_model(self) -> Generator[Action, Event | None, Message]:
        request = self._request()
        while True:
            problem = budget_exceeded(self.state, self.limits.budget)
            if problem is not None:
                raise BudgetExceededError(
                    f"agent {self.agent_name!r}: budget reached before the call finished "
                    f"({problem[1]}). The dialog and tool-call trace so far are on this error.",
                    limit=problem[0],
                    **self._context(),
                )
            self.state = before_request(self.state)
            event = yield CallModel(request)
            if isinstance(event, ModelReplied):
                reply = event.message
                self.state = after_reply(self.state, reply)
                if self.extra:
                    reply = reply.replace(extra={**reply.extra, **self.extra})
                return reply
            if isinstance(event, CallerFailed):
                raise CallerContractError(
                    f"agent {self.agent_name!r}: the LLM caller broke its contract: it "
                    f"{event.problem}. A caller returns a Message or raises LLMAPIError; "
                    "fix the caller (the dialog so far is on this error)",
                    **self._context(),
                ) from event.error
            assert isinstance(event, ModelFailed)  # ACCEPTS admits nothing else here
            error = event.error
            self.api_errors.append(error)
            needs_sample = error.retryable and error.retry_after is None
            self.state, decision = after_api_error(
                self.state,
                self.limits,
                retryable=error.retryable,
                retry_after=error.retry_after,
                sample=self.rng.random() if needs_sample else 0.0,
            )
            if isinstance(decision, RetryAfter):
                yield Sleep(decision.delay, error)
            elif isinstance(decision, GiveUp):
                raise self._give_up(error, transient=decision.transient) from error

    def _give_up(self, error: LLMAPIError, *, transient: bool) -> AgentCallError:
        if transient:
            policy = self.limits.retry
            return LLMRetriesExhaustedError(
                f"agent {self.agent_name!r}: the model endpoint kept failing "
                f"({self.state.transient_errors} transient error(s), {self.state.waited:.1f}s "
                f"waited; retry policy allows {policy.max_attempts} retries and "
                f"{policy.max_total_wait:.0f}s). Last error: {error}",
                **self._context(),
            )
        return AgentCallError(
            f"agent {self.agent_name!r}: the model request failed and is not retryable "
            f"(max_llm_recall={self.limits.max_llm_recall}): {error}",
            **self._context(),
        )

    def _request(self) -> LLMRequest:
        source = self._work or self.dialog
        prompt = self.prompt
        tools_on = offers_tools(self.state)
        return LLMRequest(
            messages=tuple(source.messages),
            model=self.model,
            model_args=self.model_args,
            tools=prompt.functions if tools_on else (),
            mcp_servers=prompt.mcp_servers if tools_on else (),
            output_format=prompt.format,
            allow_web_search=prompt.allow_web_search and tools_on,
            computer_use=prompt.computer_use_config if tools_on else None,
            api_type=self.api_type,
            agent_name=self.agent_name,
            session=source.session,
            dialog_id=source.dialog_id,
            parent_dialog_id=source.parent_id,
            prompt_path=prompt.path,
            turn=len(source),
            on_delta=self.on_delta,
        )

    def _run_tools(self, calls: tuple[FunctionCall, ...]) -> Generator[Action, Event | None, None]:
        # Plan in the model's order: a call identical to an earlier one (of this call, or of
        # this reply) reuses that one's outcome; an unknown tool is an error; the rest run.
        plan: list[FunctionCall | int] = []  # a settled outcome, or an index into ``done``
        runs: list[ToolRun] = []
        for i, call in enumerate(calls):
            earlier = _first_repeat(self.trace, call)
            twin = _first_repeat(calls[:i], call) if i else None
            if earlier is not None:
                plan.append(_repeat(call, earlier))
                continue
            if twin is not None:
                plan.append(-1 - calls.index(twin))  # resolved once the twin's outcome is known
                continue
            function = self.prompt.function(call.name)
            if function is None:
                names = ", ".join(f.name for f in self.prompt.functions)
                plan.append(
                    call.with_error(
                        f"there is no tool named {call.name!r}; available tools: {names}"
                    )
                )
            else:
                plan.append(len(runs))
                runs.append(ToolRun(function, call))
        self.state = start_tool_round(self.state)
        ran: tuple[FunctionCall, ...] = ()
        if runs:
            event = yield RunTools(tuple(runs), self.limits.max_parallel_tools)
            assert isinstance(event, ToolsFinished)  # ACCEPTS admits nothing else here
            if len(event.calls) != len(runs):
                raise AgentCallProtocolError(
                    f"agent call of {self.agent_name!r}: RunTools asked for {len(runs)} "
                    f"tool call(s) and ToolsFinished returned {len(event.calls)}"
                )
            ran = event.calls
        done: list[FunctionCall] = []
        for i, step in enumerate(plan):
            if isinstance(step, FunctionCall):
                outcome = step
            elif step >= 0:
                outcome = ran[step]
            else:
                outcome = _repeat(calls[i], done[-1 - step])
            done.append(outcome)
        self.trace.extend(done)
        self.state, final_round = after_tool_round(self.state, self.limits)
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
                extra=EMPTY_MAPPING if outcome.error is None else TOOL_ERROR_EXTRA,
                set_top=False,
                # A repeat's images are already in the dialog, with the call it repeats.
                images=images_of(outcome.result) if outcome.repeated_of is None else (),
            )

    def _use_computer(
        self, calls: tuple[ComputerCall, ...]
    ) -> Generator[Action, Event | None, None]:
        self.state, allowed = start_computer_round(self.state, self.limits, len(calls))
        if not allowed:
            raise ComputerStepLimitError(
                f"agent {self.agent_name!r}: the model asked for computer action number "
                f"{self.state.computer_steps}, past CallLimits.max_computer_steps="
                f"{self.limits.max_computer_steps}; raise the limit or give the task in smaller "
                "steps (the dialog so far is on this error)",
                **self._context(),
            )
        event = yield RunComputer(calls)
        assert isinstance(event, ComputerFinished)  # ACCEPTS admits nothing else here
        if len(event.outputs) != len(calls):
            raise AgentCallProtocolError(
                f"agent call of {self.agent_name!r}: RunComputer asked for {len(calls)} "
                f"computer call(s) and ComputerFinished returned {len(event.outputs)}"
            )
        for call, output in zip(calls, event.outputs, strict=True):
            if output.refused or output.capture is None:
                codes = ", ".join(c.code or c.id for c in output.refused)
                raise ComputerSafetyRefusedError(
                    f"agent {self.agent_name!r}: computer call {call.call_id!r} "
                    f"({call.action.get('type')!r}) was not run: its safety checks ({codes}) "
                    "were not approved; pass ComputerUse(approve=...) that accepts them to let "
                    "such calls run",
                    checks=output.refused,
                    **self._context(),
                )
            self.dialog.append(_computer_output_message(call, output))

    def _context(self) -> dict[str, Any]:
        return {
            "dialog": self.dialog,
            "function_calls": tuple(self.trace),
            "attempts": tuple(self.attempts),
            "api_errors": tuple(self.api_errors),
        }


def _first_repeat(calls: Sequence[FunctionCall], call: FunctionCall) -> FunctionCall | None:
    for earlier in calls:
        if earlier.is_repeated(call):
            return earlier
    return None


def _repeat(call: FunctionCall, earlier: FunctionCall) -> FunctionCall:
    """``call`` answered with ``earlier``'s outcome, without running it again."""
    return evolve(
        call,
        result=earlier.result,
        result_text=(
            f"This call repeats an earlier call of {call.name!r} with the same arguments, so "
            f"it was not run again. Reuse the earlier result:\n{earlier.result_text}"
        ),
        error=earlier.error,
        repeated_of=earlier.repeated_of or earlier.id,
    )


def _computer_output_message(call: ComputerCall, output: ComputerOutput) -> Message:
    """The tool message answering ``call``: the screenshot after it, and what happened."""
    capture = output.capture
    assert capture is not None  # refused calls end the agent call before this
    kind = call.action.get("type")
    text = f"Screenshot after {kind}" if output.error is None else f"Error: {output.error}"
    extra: dict[str, Any] = {"computer_call_output": True}
    if output.acknowledged:
        extra["acknowledged_safety_checks"] = [
            {"id": c.id, "code": c.code, "message": c.message} for c in output.acknowledged
        ]
    return Message(
        Role.TOOL,
        text,
        Creator.FUNCTION,
        Modality.IMAGE,
        tool_call_id=call.call_id,
        image=Image(base64.b64encode(capture.data).decode("ascii"), capture.mime_type),
        extra=extra,
    )


def _computer_for(call: AgentCall, computer: ComputerUse | None) -> ComputerUse:
    """The computer the model's computer actions run on, or a :class:`ConfigError` saying how
    to give the agent one."""
    if computer is None:
        raise ConfigError(
            f"agent {call.agent_name!r}: the model asked for computer actions (prompt "
            f"{call.prompt.path!r} has computer_use_config) but the agent has no computer; give "
            "it one: Agent(..., computer=ComputerUse(BrowserComputer(...)))"
        )
    return computer


def _caller_raised(exc: Exception) -> ModelFailed | CallerFailed:
    """The event for a caller that raised ``exc``: an API error is the model failing; an LLLM
    error raised on purpose (e.g. a replay that diverged) is already typed and goes on up;
    anything else breaks the caller's contract."""
    if isinstance(exc, LLMAPIError):
        return ModelFailed(exc)
    if isinstance(exc, LLLMError):
        raise exc
    return CallerFailed(f"raised {type(exc).__name__}: {exc}", exc)


def _model_answered(
    call: AgentCall, outcome: ModelReplied | ModelFailed | CallerFailed, trace: CallTrace
) -> Action:
    """Tell the machine (and ``trace``) how a model request went; the next action."""
    trace.model_outcome(outcome)
    if trace is not NO_TRACE and type(outcome) is ModelReplied:
        return _send_reply(call, outcome, trace)
    return call.send(outcome)


# -- drivers ---------------------------------------------------------------------------------

HAND_OVER_AFTER = 0.25
"""Seconds of work after which a driver hands the call's records to the log writer at the next
step boundary (before a model request or a round of tools). Real turns take longer than this,
so each is written while the next one runs; a call whose turns are quicker (a local model, a
script) is written in one transaction when it ends, which keeps a durable store's sync off every
turn. Records are always handed over before a backoff sleep, and all of them are stored before
the call returns, raises or is cancelled."""


RETRY_LOGGER = "lllm_domain.agent_call"
"""The standard ``logging`` logger the drivers report each transient-error retry to, as it
happens and before its sleep (a WARNING: what failed, the wait, attempt k of n; the record
also carries ``event`` = ``"model.retry"`` and the fields as a dict in ``fields``). The domain
configures no handler: the composition root routes it
(``lllm_adapters.observability.configure_logging`` does, so ``lllm run`` shows it)."""


def _report_retry(call: AgentCall, action: Sleep, trace: CallTrace) -> None:
    import logging

    attempt, limit = call.state.transient_errors, call.limits.retry.max_attempts
    trace.retrying(action, attempt, limit)
    logger = logging.getLogger(RETRY_LOGGER)
    if not logger.isEnabledFor(logging.WARNING):
        return
    retry = {
        "agent": call.agent_name,
        "attempt": attempt,
        "max_attempts": limit,
        "wait": round(action.seconds, 3),
        "error": str(action.error),
        "status": action.error.status,
        "code": action.error.code,
    }
    logger.warning(
        "agent %r: the model request failed (%s); retry %d of %d in %.1fs",
        call.agent_name,
        action.error,
        attempt,
        limit,
        action.seconds,
        extra={"event": "model.retry", "fields": retry},
    )


class _HandOver:
    """When a driver hands records over: after :data:`HAND_OVER_AFTER` seconds, or now."""

    __slots__ = ("call", "clock", "due")

    def __init__(self, call: AgentCall, clock: Clock) -> None:
        self.call = call
        self.clock = clock
        self.due = clock.now() + HAND_OVER_AFTER

    def at_boundary(self) -> None:
        now = self.clock.now()
        if now >= self.due:
            self.now(now)

    def now(self, now: float | None = None) -> None:
        self.call.hand_over()
        self.due = (self.clock.now() if now is None else now) + HAND_OVER_AFTER


def _model_event(reply: object) -> ModelReplied | CallerFailed:
    if isinstance(reply, Message):
        return ModelReplied(reply)
    return CallerFailed(f"returned {type(reply).__name__} ({reply!r:.80}), not a Message")


def run_sync(
    call: AgentCall,
    caller: LLMCaller,
    clock: Clock,
    tracer: Tracer | None = None,
    *,
    computer: ComputerUse | None = None,
) -> AgentResult:
    """Drive ``call`` to its end with blocking I/O. Tool calls run one after another, computer
    calls on ``computer``; the call's log records are handed to the log writer at step
    boundaries (see :data:`HAND_OVER_AFTER`) and all stored before this returns or raises.
    ``tracer`` (none by default) is told each step (see :mod:`lllm_domain.tracing`)."""
    trace = NO_TRACE if tracer is None else tracer.agent_call(call)
    try:
        result = _drive_sync(call, caller, clock, trace, computer)
    except BaseException as error:
        _flush_noting(call, error)
        trace.end(None, error)
        raise
    try:
        call.flush()
    except BaseException as error:
        trace.end(None, error)
        raise
    trace.end(result, None)
    return result


def _drive_sync(
    call: AgentCall,
    caller: LLMCaller,
    clock: Clock,
    trace: CallTrace,
    computer: ComputerUse | None,
) -> AgentResult:
    hand_over = _HandOver(call, clock)
    try:
        action = call.start()
        while True:
            event: Event
            if type(action) is CallModel:
                hand_over.at_boundary()
                outcome: ModelReplied | ModelFailed | CallerFailed
                with trace.model_request(action.request):
                    try:
                        outcome = _model_event(caller.call(action.request))
                    except Exception as exc:
                        outcome = _caller_raised(exc)
                action = _model_answered(call, outcome, trace)
                continue
            elif type(action) is RunTools:
                hand_over.at_boundary()
                event = ToolsFinished(tuple(trace.run_tool(r) for r in action.runs))
            elif type(action) is RunComputer:
                hand_over.at_boundary()
                from lllm_domain.computer.loop import run_computer_call

                screen = _computer_for(call, computer)
                event = ComputerFinished(tuple(run_computer_call(screen, c) for c in action.calls))
            elif type(action) is Sleep:
                hand_over.now()
                _report_retry(call, action, trace)
                clock.sleep(action.seconds)
                event = SLEPT
            else:  # pragma: no cover - the machine emits only the actions above
                raise AgentCallProtocolError(f"unknown action {action!r}")
            action = call.send(event)
    except StopIteration as stop:
        result: AgentResult = stop.value
        return result
    finally:
        call.close()


def _send_reply(call: AgentCall, event: ModelReplied, trace: CallTrace) -> Action:
    """Send a reply to a traced call, telling ``trace`` when it failed to parse."""
    failures = call.state.parse_failures
    try:
        action = call.send(event)
    except ParseRetriesExhaustedError:
        trace.parse_failed(call.attempts[-1])
        raise
    if call.state.parse_failures > failures and call.attempts:
        trace.parse_failed(call.attempts[-1])
    return action


def _flush_noting(call: AgentCall, error: BaseException) -> None:
    """Flush after ``error``; a failed write is noted on ``error`` rather than replacing it."""
    try:
        call.flush()
    except Exception as flush_error:
        _note_unwritten(error, flush_error)


def _note_unwritten(error: BaseException, flush_error: Exception) -> None:
    error.add_note(
        f"Log records of this call could not all be written: "
        f"{type(flush_error).__name__}: {flush_error}"
    )


async def run_async(
    call: AgentCall,
    caller: AsyncLLMCaller,
    clock: Clock,
    tracer: Tracer | None = None,
    *,
    computer: ComputerUse | None = None,
) -> AgentResult:
    """Drive ``call`` to its end with async I/O. The tool calls of one reply run at once (at
    most ``max_parallel_tools``; async tools awaited together, blocking ones in worker threads),
    their results kept in the model's order. Log records are handed over as in
    :func:`run_sync`, written off the event loop, and all stored before this returns, raises or
    is cancelled. ``tracer`` is told each step, as in :func:`run_sync`."""
    trace = NO_TRACE if tracer is None else tracer.agent_call(call)
    store = call.dialog.log
    writer = None if store is None else writer_for(store)
    if writer is not None:
        writer.call_started()
    try:
        try:
            result = await _drive_async(call, caller, clock, trace, computer)
        except BaseException as error:
            try:
                await call.aflush()
            except Exception as flush_error:
                _note_unwritten(error, flush_error)
            trace.end(None, error)
            raise
        try:
            await call.aflush()
        except BaseException as error:
            trace.end(None, error)
            raise
    finally:
        # Counted until its records are stored: the writer sees how many calls log at once.
        if writer is not None:
            writer.call_ended()
    trace.end(result, None)
    return result


async def _drive_async(
    call: AgentCall,
    caller: AsyncLLMCaller,
    clock: Clock,
    trace: CallTrace,
    computer: ComputerUse | None,
) -> AgentResult:
    hand_over = _HandOver(call, clock)
    try:
        action = call.start()
        while True:
            event: Event
            if type(action) is CallModel:
                hand_over.at_boundary()
                outcome: ModelReplied | ModelFailed | CallerFailed
                with trace.model_request(action.request):
                    try:
                        outcome = _model_event(await caller.acall(action.request))
                    except Exception as exc:
                        outcome = _caller_raised(exc)
                action = _model_answered(call, outcome, trace)
                continue
            elif type(action) is RunTools:
                hand_over.at_boundary()
                event = ToolsFinished(await _run_tools_async(action, trace))
            elif type(action) is RunComputer:
                hand_over.at_boundary()
                from lllm_domain.computer.loop import arun_computer_call

                screen = _computer_for(call, computer)
                event = ComputerFinished(
                    tuple([await arun_computer_call(screen, c) for c in action.calls])
                )
            elif type(action) is Sleep:
                hand_over.now()
                _report_retry(call, action, trace)
                await clock.asleep(action.seconds)
                event = SLEPT
            else:  # pragma: no cover
                raise AgentCallProtocolError(f"unknown action {action!r}")
            action = call.send(event)
    except StopIteration as stop:
        result: AgentResult = stop.value
        return result
    finally:
        call.close()


async def _run_tools_async(action: RunTools, trace: CallTrace) -> tuple[FunctionCall, ...]:
    runs = action.runs
    if len(runs) == 1:
        return (await trace.arun_tool(runs[0]),)
    import asyncio

    limit = asyncio.Semaphore(action.max_parallel)

    async def run(step: ToolRun) -> FunctionCall:
        async with limit:
            return await trace.arun_tool(step)

    return tuple(await asyncio.gather(*(run(step) for step in runs)))
