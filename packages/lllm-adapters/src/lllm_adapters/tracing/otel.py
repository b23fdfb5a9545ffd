"""Agent calls as OpenTelemetry spans in the GenAI semantic conventions.

:class:`OtelTracer` implements the domain's :class:`~lllm_domain.tracing.Tracer` port. Each
agent call is an ``invoke_agent {agent}`` span (kind INTERNAL), a child of whatever span is
current when the call starts (a system's ``invoke_workflow`` span, or the ``execute_tool`` span
of the tool that called a sub-agent). Under it:

- ``chat {model}`` (kind CLIENT) per model request, covering its retries: each failed attempt
  is an ``lllm.request_failed`` event and each backoff an ``lllm.retry`` event on it;
- ``execute_tool {tool}`` (kind INTERNAL) per tool execution, current while the tool runs, so a
  proxy request (``traceparent``) or a sub-agent the tool calls nests under it;
- ``lllm.parse_failure`` events (a reply that failed to parse) and ``lllm.tool_call_repeated``
  events (a repeated tool call answered without running it) on the agent span.

Attributes follow the GenAI conventions (``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.model``, ``gen_ai.response.model``, ``gen_ai.usage.*``,
``gen_ai.response.finish_reasons``, ``gen_ai.tool.name``, ``gen_ai.tool.call.id``,
``error.type``); LLLM adds ``lllm.session.id`` (also ``gen_ai.conversation.id``),
``lllm.dialog.id`` and ``lllm.cost.usd``. Message contents, tool arguments and results are
recorded only with ``capture_content=True``, and then with secrets redacted.

Needs the ``otel`` extra: ``pip install "lllm-adapters[otel]"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from lllm_domain.agent_call import CallerFailed, ModelFailed, ModelReplied
from lllm_domain.errors import BudgetExceededError
from lllm_domain.message import FunctionCall, Message, Role

from lllm_adapters.extras import requires_extra
from lllm_adapters.observability.redaction import Redactor

with requires_extra("otel", __name__):
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode

if TYPE_CHECKING:
    from lllm_domain.agent_call import AgentCall, AgentResult, Sleep, ToolRun
    from lllm_domain.request import LLMRequest
    from lllm_domain.tracing import CallTrace, ModelOutcome

INSTRUMENTATION = "lllm"
"""The instrumentation scope name of LLLM's spans."""

# The request arguments the conventions name, by the model argument that carries them.
_REQUEST_ARGS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "seed": "gen_ai.request.seed",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
}

ProviderOf = Callable[[str], str]
"""The ``gen_ai.provider.name`` of a model name (e.g. ``"openai"``)."""


def _error_type(error: BaseException) -> str:
    return type(error).__qualname__


class OtelTracer:
    """The :class:`~lllm_domain.tracing.Tracer` port over OpenTelemetry.

    Args:
        tracer_provider: where spans go (the global provider if omitted).
        provider: the ``gen_ai.provider.name`` of every model, or a function of the model name.
        capture_content: record messages, tool arguments and results, parse problems and error
            messages on the spans (redacted); off by default, as the conventions advise.
        redactor: removes secrets from captured content (the environment's, if omitted).
    """

    __slots__ = ("_provider", "_tracer", "capture_content", "redactor")

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        *,
        provider: str | ProviderOf = "openai",
        capture_content: bool = False,
        redactor: Redactor | None = None,
    ) -> None:
        source = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        self._tracer = source.get_tracer(INSTRUMENTATION)
        self._provider: ProviderOf = provider if callable(provider) else _constant(provider)
        self.capture_content = capture_content
        self.redactor = redactor if redactor is not None else Redactor.from_environment()

    def agent_call(self, call: AgentCall) -> CallTrace:
        """Start the ``invoke_agent`` span of ``call`` (under the current span)."""
        return _CallTrace(self, call)

    def provider_of(self, model: str) -> str:
        """The ``gen_ai.provider.name`` of ``model``."""
        return self._provider(model)

    @contextmanager
    def workflow(self, name: str, *, session: str = "") -> Iterator[Span]:
        """A current ``invoke_workflow {name}`` span around a system's run: the agent calls
        made inside are its children, so one run is one trace. ``session`` is LLLM's session
        id."""
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.workflow.name": name,
        }
        if session:
            attributes["lllm.session.id"] = session
            attributes["gen_ai.conversation.id"] = session
        with self._tracer.start_as_current_span(
            f"invoke_workflow {name}",
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as error:
                span.set_attribute("error.type", _error_type(error))
                span.set_status(Status(StatusCode.ERROR, self._describe(error)))
                raise

    def _describe(self, error: BaseException) -> str:
        """A span status description: the (redacted) message only when content is captured,
        since error messages may quote the model's output."""
        if not self.capture_content:
            return _error_type(error)
        return self.redactor.redact_text(f"{_error_type(error)}: {error}")[:1000]

    def _json(self, value: Any) -> str:
        import msgspec

        return msgspec.json.encode(self.redactor.redact(value)).decode("utf-8")


def _request_args(args: Mapping[str, Any], attributes: dict[str, Any]) -> None:
    """The request arguments the conventions name (temperature, max tokens, ...)."""
    for arg, name in _REQUEST_ARGS.items():
        value = args.get(arg)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[name] = value
    stop = args.get("stop")
    if isinstance(stop, str):
        attributes["gen_ai.request.stop_sequences"] = (stop,)
    elif isinstance(stop, list | tuple) and all(isinstance(s, str) for s in stop):
        attributes["gen_ai.request.stop_sequences"] = tuple(stop)


class _Current:
    """Makes a span the current one for a block (what ``trace.use_span`` does, without its
    generator and exception bookkeeping: this runs around every model request and tool)."""

    __slots__ = ("_context", "_token")

    def __init__(self, span: Span) -> None:
        self._context = trace.set_span_in_context(span)
        self._token: object = None

    def __enter__(self) -> None:
        self._token = otel_context.attach(self._context)

    def __exit__(self, *exc: object) -> None:
        otel_context.detach(self._token)  # type: ignore[arg-type]


def _constant(name: str) -> ProviderOf:
    def provider(model: str) -> str:
        return name

    return provider


class _CallTrace:
    """The spans of one agent call (implements :class:`~lllm_domain.tracing.CallTrace`)."""

    __slots__ = ("_call", "_chat", "_context", "_failure", "_owner", "_request", "_span")

    def __init__(self, owner: OtelTracer, call: AgentCall) -> None:
        self._owner = owner
        self._call = call
        dialog = call.dialog
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": owner.provider_of(call.model),
            "gen_ai.agent.name": call.agent_name,
            "gen_ai.request.model": call.model,
            "gen_ai.conversation.id": dialog.session,
            "lllm.session.id": dialog.session,
            "lllm.dialog.id": dialog.dialog_id,
        }
        if dialog.parent_id:
            attributes["lllm.dialog.parent_id"] = dialog.parent_id
        self._span = owner._tracer.start_span(
            f"invoke_agent {call.agent_name}".rstrip(),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
        )
        self._context = trace.set_span_in_context(self._span)
        self._chat: Span | None = None
        self._request: LLMRequest | None = None
        self._failure: str | None = None

    # -- model requests ----------------------------------------------------------------------

    def model_request(self, request: LLMRequest) -> AbstractContextManager[object]:
        if self._chat is None or request is not self._request:
            self._end_chat(None)
            self._chat = self._start_chat(request)
            self._request = request
        return _Current(self._chat)

    def _start_chat(self, request: LLMRequest) -> Span:
        owner = self._owner
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": owner.provider_of(request.model),
            "gen_ai.request.model": request.model,
            "gen_ai.conversation.id": request.session,
        }
        if request.model_args:
            _request_args(request.model_args, attributes)
        if owner.capture_content:
            system, messages = _split_system(request.messages)
            if system:
                attributes["gen_ai.system_instructions"] = owner._json(system)
            attributes["gen_ai.input.messages"] = owner._json(messages)
            if request.tools:
                attributes["gen_ai.tool.definitions"] = owner._json(
                    [{"type": "function", "name": f.name} for f in request.tools]
                )
        return owner._tracer.start_span(
            f"chat {request.model}",
            context=self._context,
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )

    def model_outcome(self, outcome: ModelOutcome) -> None:
        chat = self._chat
        if chat is None:
            return
        if type(outcome) is ModelReplied:
            _set_reply(chat, outcome.message, self._owner)
            self._failure = None  # earlier attempts failed; the request did not
            self._end_chat(None)
        elif type(outcome) is ModelFailed:
            error = outcome.error
            self._failure = _error_type(error)
            attributes: dict[str, Any] = {
                "error.type": self._failure,
                "lllm.error.retryable": error.retryable,
            }
            if error.status is not None:
                attributes["http.response.status_code"] = error.status
            if error.code:
                attributes["lllm.error.code"] = str(error.code)
            if self._owner.capture_content:
                attributes["lllm.error.message"] = self._owner.redactor.redact_text(str(error))
            chat.add_event("lllm.request_failed", attributes)
        elif type(outcome) is CallerFailed:
            self._failure = (
                _error_type(outcome.error) if outcome.error is not None else "CallerContractError"
            )

    def retrying(self, sleep: Sleep, attempt: int, max_attempts: int) -> None:
        target = self._chat if self._chat is not None else self._span
        target.add_event(
            "lllm.retry",
            {
                "lllm.retry.attempt": attempt,
                "lllm.retry.max_attempts": max_attempts,
                "lllm.retry.wait_s": sleep.seconds,
                "error.type": _error_type(sleep.error),
            },
        )

    def _end_chat(self, error: BaseException | None) -> None:
        chat = self._chat
        if chat is None:
            return
        failure = self._failure
        if failure is None and error is not None:
            failure = _error_type(error)
        if failure is not None:
            chat.set_attribute("error.type", failure)
            chat.set_status(Status(StatusCode.ERROR, failure))
        chat.end()
        self._chat = None
        self._request = None
        self._failure = None

    # -- parsing -----------------------------------------------------------------------------

    def parse_failed(self, reply: Message) -> None:
        attributes: dict[str, Any] = {
            "lllm.parse.failures": self._call.state.parse_failures,
            "lllm.parse.problems": len(reply.errors),
        }
        if self._owner.capture_content:
            attributes["lllm.parse.errors"] = tuple(
                self._owner.redactor.redact_text(e) for e in reply.errors
            )
        self._span.add_event("lllm.parse_failure", attributes)

    # -- tools -------------------------------------------------------------------------------

    def _start_tool(self, run: ToolRun) -> Span:
        call = run.call
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.name,
            "gen_ai.tool.call.id": call.id,
            "gen_ai.tool.type": "function",
        }
        if self._owner.capture_content:
            attributes["gen_ai.tool.call.arguments"] = self._owner._json(dict(call.arguments))
        return self._owner._tracer.start_span(
            f"execute_tool {call.name}",
            context=self._context,
            kind=SpanKind.INTERNAL,
            attributes=attributes,
        )

    def _end_tool(
        self, span: Span, outcome: FunctionCall | None, error: BaseException | None
    ) -> None:
        failure = _error_type(error) if error is not None else None
        if outcome is not None:
            if outcome.error is not None:
                failure = "ToolError"
            if self._owner.capture_content:
                text = outcome.error if outcome.error is not None else outcome.result_text
                span.set_attribute(
                    "gen_ai.tool.call.result", self._owner.redactor.redact_text(text or "")
                )
        if failure is not None:
            span.set_attribute("error.type", failure)
            span.set_status(Status(StatusCode.ERROR, failure))
        span.end()

    def run_tool(self, run: ToolRun) -> FunctionCall:
        span = self._start_tool(run)
        with _Current(span):
            try:
                outcome = run.function.invoke(run.call)
            except BaseException as error:
                self._end_tool(span, None, error)
                raise
        self._end_tool(span, outcome, None)
        return outcome

    async def arun_tool(self, run: ToolRun) -> FunctionCall:
        span = self._start_tool(run)
        with _Current(span):
            try:
                outcome = await run.function.ainvoke(run.call)
            except BaseException as error:
                self._end_tool(span, None, error)
                raise
        self._end_tool(span, outcome, None)
        return outcome

    # -- the end -----------------------------------------------------------------------------

    def end(self, result: AgentResult | None, error: BaseException | None) -> None:
        self._end_chat(error)
        call = self._call
        span = self._span
        for done in call.trace:
            if done.repeated_of is not None:
                span.add_event(
                    "lllm.tool_call_repeated",
                    {
                        "gen_ai.tool.name": done.name,
                        "gen_ai.tool.call.id": done.id,
                        "lllm.tool.repeated_of": done.repeated_of,
                    },
                )
        usage, cost = call.usage, call.cost
        span.set_attributes(
            {
                "gen_ai.usage.input_tokens": usage.input_tokens,
                "gen_ai.usage.output_tokens": usage.output_tokens,
                "lllm.cost.usd": cost.total_usd,
                "lllm.requests": call.requests,
            }
        )
        if error is not None:
            span.set_attribute("error.type", _error_type(error))
            if isinstance(error, BudgetExceededError) and error.limit:
                span.set_attribute("lllm.budget.limit", error.limit)
            span.set_status(Status(StatusCode.ERROR, self._owner._describe(error)))
        span.end()


def _set_reply(span: Span, reply: Message, owner: OtelTracer) -> None:
    attributes: dict[str, Any] = {
        "gen_ai.response.finish_reasons": ("tool_calls",) if reply.function_calls else ("stop",),
    }
    if reply.model:
        attributes["gen_ai.response.model"] = reply.model
    response_id = reply.extra.get("response_id")
    if isinstance(response_id, str) and response_id:
        attributes["gen_ai.response.id"] = response_id
    if reply.usage is not None:
        attributes["gen_ai.usage.input_tokens"] = reply.usage.input_tokens
        attributes["gen_ai.usage.output_tokens"] = reply.usage.output_tokens
        if reply.usage.cached_input_tokens:
            attributes["gen_ai.usage.cache_read.input_tokens"] = reply.usage.cached_input_tokens
    if reply.cost is not None:
        attributes["lllm.cost.usd"] = reply.cost.total_usd
    if owner.capture_content:
        attributes["gen_ai.output.messages"] = owner._json([_message_data(reply, final=True)])
    span.set_attributes(attributes)


# -- messages in the conventions' JSON shape ----------------------------------------------------

_ROLES = {Role.TOOL_CALL: "assistant", Role.TOOL: "tool"}


def _parts(message: Message) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if message.role is Role.TOOL:
        return [
            {"type": "tool_call_response", "id": message.tool_call_id, "response": message.content}
        ]
    if message.content:
        parts.append({"type": "text", "content": message.content})
    for call in message.function_calls:
        parts.append(
            {
                "type": "tool_call",
                "id": call.id,
                "name": call.name,
                "arguments": dict(call.arguments),
            }
        )
    return parts


def _message_data(message: Message, *, final: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "role": _ROLES.get(message.role, str(message.role)),
        "parts": _parts(message),
    }
    if final:
        data["finish_reason"] = "tool_call" if message.function_calls else "stop"
    return data


def _split_system(
    messages: tuple[Message, ...],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    system: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    for message in messages:
        if message.role is Role.SYSTEM:
            system.extend(_parts(message))
        else:
            rest.append(_message_data(message))
    return system, rest


def inject_trace_context(headers: dict[str, str]) -> None:
    """Add the current trace context to outgoing HTTP ``headers`` (``traceparent``, and
    ``tracestate``/``baggage`` when set), with the propagators ``OTEL_PROPAGATORS`` selects."""
    from opentelemetry.propagate import inject

    inject(headers)
