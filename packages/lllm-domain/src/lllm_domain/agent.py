"""Agents: a named model endpoint with a system prompt, a caller and call limits."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from attrs import define, evolve, field

from lllm_domain.agent_call import (
    AgentCall,
    AgentResult,
    ReplyParser,
    parse_with_prompt,
    run_async,
    run_sync,
)
from lllm_domain.dialog import Dialog
from lllm_domain.errors import AgentCallError, ConfigError, PromptError
from lllm_domain.function import Function
from lllm_domain.limits import Budget, CallLimits
from lllm_domain.log_writer import writer_for
from lllm_domain.message import EMPTY_MAPPING, Creator, Role
from lllm_domain.model_card import ModelCard
from lllm_domain.ports import (
    AsyncLLMCaller,
    Clock,
    IdGenerator,
    LLMCaller,
    LogEntry,
    LogStore,
    SystemClock,
    TokenizerProvider,
    is_async_caller,
    is_sync_caller,
    uuid_ids,
)
from lllm_domain.prompt import Prompt, literal_prompt
from lllm_domain.request import DeltaCallback
from lllm_domain.tool_source import ToolSource, merge_tools
from lllm_domain.tracing import Tracer

if TYPE_CHECKING:
    from lllm_domain.computer.loop import ComputerUse

DrawnTools = Sequence[tuple[str, Sequence[Function]]]
"""The tools drawn from tool sources for one agent call: (source name, functions) pairs."""

ERRORS = "errors"
"""The log collection that receives a structured report for every failed agent call."""


_INLINE_SYSTEM = "__inline__/system"


class CallOptions(TypedDict, total=False):
    """The keyword options of :meth:`Agent.call` and :meth:`Agent.acall`, all optional."""

    budget: Budget | None
    """This call's budget instead of the agent's (requests, tokens, cost)."""
    reply_parser: ReplyParser
    """Turns each reply into its parsed payload (default: the prompt's parser)."""
    on_delta: DeltaCallback | None
    """Called with each piece of streamed text, as it arrives."""
    model_args: Mapping[str, Any] | None
    """Override the agent's model arguments for this call."""
    parser_args: Mapping[str, Any] | None
    """Keywords for the prompt's parser."""
    extra: Mapping[str, Any] | None
    """Merged into every reply's ``extra`` (the original's per-call arguments)."""


def _as_system_prompt(value: Prompt | str) -> Prompt:
    """Plain text becomes a literal prompt (renamed after the agent once it is built)."""
    return literal_prompt(_INLINE_SYSTEM, value) if isinstance(value, str) else value


@define(slots=True)
class Agent:
    """A named model endpoint.

    ``caller`` implements :class:`~lllm_domain.ports.LLMCaller` (for :meth:`call`) and/or
    :class:`~lllm_domain.ports.AsyncLLMCaller` (for :meth:`acall`). When ``model_card`` is given
    the model args are checked against it at construction, before any request.

    ``system_prompt`` may be a :class:`Prompt` or plain text (taken literally, braces included).
    ``tokenizers`` finds the model's tokenizer when a caller needs one (classification); the
    composition root supplies it. ``tracer`` is told every step of every call (spans, with
    ``lllm_adapters.tracing``); without one, calls are not traced. ``computer`` is the screen a
    computer-use prompt (one with ``computer_use_config``) drives; see
    :mod:`lllm_domain.computer`. ``tool_sources`` (e.g. MCP servers) add their tools to every
    prompt the agent is called with, after the prompt's own ``tool_sources``.
    """

    name: str
    system_prompt: Prompt = field(converter=_as_system_prompt)
    model: str
    caller: LLMCaller | AsyncLLMCaller = field(repr=False)
    model_args: Mapping[str, Any] = field(default=EMPTY_MAPPING)
    api_type: str = "completion"
    limits: CallLimits = field(factory=CallLimits)
    log_store: LogStore | None = field(default=None, repr=False)
    clock: Clock = field(factory=SystemClock, repr=False)
    rng: random.Random = field(factory=random.Random, repr=False)
    ids: IdGenerator = field(default=uuid_ids, repr=False)
    model_card: ModelCard | None = field(default=None, repr=False)
    tokenizers: TokenizerProvider | None = field(default=None, repr=False)
    tracer: Tracer | None = field(default=None, repr=False)
    computer: ComputerUse | None = field(default=None, repr=False)
    tool_sources: tuple[ToolSource, ...] = field(default=(), repr=False)

    def __attrs_post_init__(self) -> None:
        if self.system_prompt.path == _INLINE_SYSTEM:
            self.system_prompt = self.system_prompt.replace(path=f"{self.name}/system")
        if self.model_card is not None:
            self.model_card.check_args(self.model_args)
        if self.api_type not in ("completion", "response"):
            raise ConfigError(
                f"agent {self.name!r}: api_type must be 'completion' or 'response', "
                f"not {self.api_type!r}"
            )

    def init_dialog(
        self, args: Mapping[str, Any] = EMPTY_MAPPING, *, session: str = "default"
    ) -> Dialog:
        """A new dialog seeded with the rendered system prompt."""
        dialog = Dialog(session=session, agent_name=self.name, log=self.log_store, ids=self.ids)
        dialog.send_prompt(
            self.system_prompt, args, role=Role.SYSTEM, creator=Creator.SYSTEM, set_top=False
        )
        return dialog

    def _machine(
        self,
        dialog: Dialog,
        prompt: Prompt | str | None,
        args: Mapping[str, Any],
        options: CallOptions,
        drawn: DrawnTools = (),
    ) -> AgentCall:
        # Check the arguments before touching the dialog, so a typo leaves no half-sent turn.
        unknown = options.keys() - CallOptions.__optional_keys__
        if unknown:
            raise TypeError(
                f"agent {self.name!r}: unknown call options {', '.join(sorted(unknown))}; the "
                f"options are {', '.join(sorted(CallOptions.__optional_keys__))}"
            )
        reply_parser = options.get("reply_parser", parse_with_prompt)
        parser_args = options.get("parser_args")
        model_args = options.get("model_args")
        budget = options.get("budget")
        target = prompt if isinstance(prompt, Prompt) else dialog.top_prompt
        if isinstance(prompt, str):
            target = None
        default_parsing = target is None or target.parser is None
        if parser_args and reply_parser is parse_with_prompt and default_parsing:
            raise PromptError(
                f"agent {self.name!r}: parser_args {sorted(parser_args)} were given but "
                f"the prompt {target.path if target else '(plain text)'!r} uses the default "
                "parser, which takes none; give the prompt a "
                "parser(text, prompt, **parser_args)"
            )
        merged_args = self.model_args
        if model_args:
            merged_args = {**self.model_args, **model_args}
            if self.model_card is not None:
                self.model_card.check_args(merged_args)
        if isinstance(prompt, str):
            # Plain text is a user turn no prompt introduced: no tools, no parsing beyond the
            # raw text.
            dialog.send_message(prompt)
        elif prompt is not None:
            dialog.send_prompt(prompt, args)
        limits = self.limits if budget is None else evolve(self.limits, budget=budget)
        offered = None
        if drawn and target is not None:
            # The drawn tools join this call's copy of the prompt; the dialog keeps the prompt
            # as written, so the next call draws afresh (a restarted server, a changed list).
            offered = target.replace(functions=merge_tools(target.functions, drawn))
        return AgentCall(
            dialog,
            prompt=offered,
            model=self.model,
            agent_name=self.name,
            model_args=merged_args,
            limits=limits,
            api_type=self.api_type,
            rng=self.rng,
            reply_parser=reply_parser,
            on_delta=options.get("on_delta"),
            parser_args=parser_args or EMPTY_MAPPING,
            extra=options.get("extra") or EMPTY_MAPPING,
        )

    def call(
        self,
        dialog: Dialog,
        prompt: Prompt | str | None = None,
        args: Mapping[str, Any] = EMPTY_MAPPING,
        **options: Unpack[CallOptions],
    ) -> AgentResult:
        """Run one agent call on ``dialog`` (after sending ``prompt`` rendered with ``args``, if
        given; plain text is sent as it is) and return the parsed final response, or raise
        :class:`~lllm_domain.errors.AgentCallError`.

        ``options`` are those of :class:`CallOptions`: ``budget``, ``reply_parser``,
        ``on_delta``, ``model_args`` (override the agent's for this call), ``parser_args`` (to
        the prompt's parser as keywords) and ``extra`` (merged into every reply's ``extra``, the
        original's per-call arguments)."""
        if not is_sync_caller(self.caller):
            raise ConfigError(
                f"agent {self.name!r}: its caller {type(self.caller).__name__} has no sync "
                "call(); use acall() or give the agent a sync caller"
            )
        sources = self._sources(dialog, prompt)
        drawn = [(source.name, source.functions()) for source in sources]
        machine = self._machine(dialog, prompt, args, options, drawn)
        try:
            return run_sync(machine, self.caller, self.clock, self.tracer, computer=self.computer)
        except AgentCallError as exc:
            self._report(exc)
            raise

    async def acall(
        self,
        dialog: Dialog,
        prompt: Prompt | str | None = None,
        args: Mapping[str, Any] = EMPTY_MAPPING,
        **options: Unpack[CallOptions],
    ) -> AgentResult:
        """The async form of :meth:`call`: same machine, same transcript."""
        if not is_async_caller(self.caller):
            raise ConfigError(
                f"agent {self.name!r}: its caller {type(self.caller).__name__} has no async "
                "acall(); use call() or give the agent an async caller"
            )
        sources = self._sources(dialog, prompt)
        listed = await asyncio.gather(*(source.afunctions() for source in sources))
        drawn = [
            (source.name, functions) for source, functions in zip(sources, listed, strict=True)
        ]
        machine = self._machine(dialog, prompt, args, options, drawn)
        try:
            return await run_async(
                machine, self.caller, self.clock, self.tracer, computer=self.computer
            )
        except AgentCallError as exc:
            await self._areport(exc)
            raise

    def _sources(self, dialog: Dialog, prompt: Prompt | str | None) -> tuple[ToolSource, ...]:
        """The tool sources of this call: the prompt's, then the agent's (none for a plain-text
        turn, which offers no tools)."""
        if isinstance(prompt, str):
            return ()
        target = prompt if prompt is not None else dialog.top_prompt
        if target is None:
            return ()
        return (*target.tool_sources, *self.tool_sources)

    def _report(self, exc: AgentCallError) -> None:
        """Write a structured error report to the log store."""
        entry = self._error_entry(exc)
        if entry is not None and self.log_store is not None:
            try:
                writer_for(self.log_store).flush([entry])
            except Exception as report_error:
                _note_report_failure(exc, report_error)

    async def _areport(self, exc: AgentCallError) -> None:
        """The async form of :meth:`_report` (the write happens off the event loop)."""
        entry = self._error_entry(exc)
        if entry is not None and self.log_store is not None:
            try:
                await writer_for(self.log_store).aflush([entry])
            except Exception as report_error:
                _note_report_failure(exc, report_error)

    def _error_entry(self, exc: AgentCallError) -> LogEntry | None:
        if self.log_store is None or exc.dialog is None:
            return None
        from lllm_domain.serialization import function_call_to_data, message_to_data

        try:
            data = {
                "agent_name": self.name,
                "model": self.model,
                "error_type": type(exc).__name__,
                "message": str(exc),
                "dialog_id": exc.dialog.dialog_id,
                "attempts": [message_to_data(m) for m in exc.attempts],
                # A tool's raw result may be any Python object; its text is what the model
                # read, and it always serializes.
                "function_calls": [
                    function_call_to_data(evolve(c, result=None)) for c in exc.function_calls
                ],
                "api_errors": [e.describe() for e in exc.api_errors],
            }
        except Exception as report_error:
            _note_report_failure(exc, report_error)
            return None
        return LogEntry(ERRORS, exc.dialog.session, data)


def _note_report_failure(exc: AgentCallError, report_error: Exception) -> None:
    # The report must never replace the error the caller is about to receive.
    exc.add_note(
        f"The error report could not be written to the log store: "
        f"{type(report_error).__name__}: {report_error}"
    )
