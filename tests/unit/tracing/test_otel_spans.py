"""Agent calls as OpenTelemetry spans (GenAI conventions), checked as span trees: a parse retry,
parallel tools, repeated calls, a transient retry, a budget error, sub-agents and forks, and
content capture with redaction. Every test runs twice: over the SDK's tracer provider with its
in-memory exporter, and over LLLM's light provider, whose frames are decoded as the export
process decodes them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from lllm_adapters.observability.redaction import Redactor
from lllm_adapters.tracing import LightTracerProvider, OtelTracer
from lllm_adapters.tracing.relay import unpack_spans
from lllm_domain import Agent, Budget, CallLimits, Function, tool
from lllm_domain.errors import BudgetExceededError, ParseRetriesExhaustedError
from lllm_domain.testing import api_error, call, tool_calls
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.support.domain_builders import answer_prompt, make_agent

SECRET = "sk-test-0123456789abcdefghijklmnop"


class DecodingSink:
    """Stands in for the export process: decodes each frame as it does."""

    timeout = 5.0

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def send(self, body: bytes, count: int) -> bool:
        decoded = unpack_spans(body)
        assert len(decoded) == count
        self.spans.extend(decoded)
        return True

    def close(self) -> None:
        pass


class LightExporter:
    """The spans a :class:`LightTracerProvider` exported (flushed on each look)."""

    def __init__(self) -> None:
        self.sink = DecodingSink()
        self.provider = LightTracerProvider(child=self.sink)

    def get_finished_spans(self) -> tuple[ReadableSpan, ...]:
        assert self.provider.force_flush()
        return tuple(self.sink.spans)


@pytest.fixture(params=["sdk", "light"])
def exporter(request: pytest.FixtureRequest) -> InMemorySpanExporter | LightExporter:
    return InMemorySpanExporter() if request.param == "sdk" else LightExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter | LightExporter) -> Iterator[Any]:
    if isinstance(exporter, LightExporter):
        yield exporter.provider
        exporter.provider.shutdown()
        return
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def traced(agent: Agent, provider: TracerProvider, **options: Any) -> OtelTracer:
    tracer = OtelTracer(provider, provider="lllm-test", redactor=Redactor([SECRET]), **options)
    agent.tracer = tracer
    return tracer


def tree(spans: Sequence[ReadableSpan]) -> list[str]:
    """The spans as an indented outline, children in start order."""
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    ids = {s.context.span_id for s in spans}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        by_parent.setdefault(parent if parent in ids else None, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in sorted(by_parent.get(parent, []), key=lambda s: s.start_time or 0):
            lines.append("  " * depth + span.name)
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return lines


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def events(span: ReadableSpan, name: str) -> list[dict[str, Any]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == name]


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


def test_a_parse_retry_is_two_chat_spans_and_an_event_on_the_agent_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent, _, _ = make_agent(["no tag here", "<answer>5</answer>"])
    traced(agent, provider)

    result = agent.call(agent.init_dialog(session="s-1"), answer_prompt(), {"question": "2+3?"})

    spans = exporter.get_finished_spans()
    assert tree(spans) == [
        "invoke_agent tester",
        "  chat scripted-model",
        "  chat scripted-model",
    ]
    (agent_span,) = named(spans, "invoke_agent tester")
    attrs = dict(agent_span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["gen_ai.provider.name"] == "lllm-test"
    assert attrs["gen_ai.agent.name"] == "tester"
    assert attrs["gen_ai.request.model"] == "scripted-model"
    assert attrs["lllm.session.id"] == "s-1"
    assert attrs["gen_ai.conversation.id"] == "s-1"
    assert attrs["lllm.dialog.id"] == result.dialog.dialog_id
    assert attrs["lllm.requests"] == 2
    assert attrs["gen_ai.usage.input_tokens"] == result.usage.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == result.usage.output_tokens
    assert "lllm.cost.usd" in attrs
    assert agent_span.kind is SpanKind.INTERNAL
    assert agent_span.status.status_code is StatusCode.UNSET
    (failure,) = events(agent_span, "lllm.parse_failure")
    assert failure["lllm.parse.failures"] == 1 and failure["lllm.parse.problems"] >= 1
    assert "lllm.parse.errors" not in failure  # content is opt-in
    chat = named(spans, "chat scripted-model")[0]
    chat_attrs = dict(chat.attributes or {})
    assert chat.kind is SpanKind.CLIENT
    assert chat_attrs["gen_ai.operation.name"] == "chat"
    assert chat_attrs["gen_ai.request.model"] == "scripted-model"
    assert chat_attrs["gen_ai.response.model"] == "scripted-model"
    assert chat_attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert chat_attrs["gen_ai.conversation.id"] == "s-1"
    assert chat_attrs["gen_ai.usage.output_tokens"] >= 1
    assert "gen_ai.input.messages" not in chat_attrs


def test_parse_retries_running_out_end_the_agent_span_with_the_error_type(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent, _, _ = make_agent(["no", "still no"], limits=CallLimits(max_exception_retry=1))
    traced(agent, provider)

    with pytest.raises(ParseRetriesExhaustedError):
        agent.call(agent.init_dialog(), answer_prompt(), {"question": "?"})

    (agent_span,) = named(exporter.get_finished_spans(), "invoke_agent tester")
    assert agent_span.status.status_code is StatusCode.ERROR
    assert dict(agent_span.attributes or {})["error.type"] == "ParseRetriesExhaustedError"
    assert len(events(agent_span, "lllm.parse_failure")) == 2


def test_a_transient_retry_stays_in_one_chat_span_with_failure_and_retry_events(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent, _, clock = make_agent([api_error(503), "<answer>1</answer>"])
    traced(agent, provider)

    agent.call(agent.init_dialog(), answer_prompt(), {"question": "?"})

    spans = exporter.get_finished_spans()
    assert tree(spans) == ["invoke_agent tester", "  chat scripted-model"]
    (chat,) = named(spans, "chat scripted-model")
    (failed,) = events(chat, "lllm.request_failed")
    assert failed == {
        "error.type": "LLMAPIError",
        "lllm.error.retryable": True,
        "http.response.status_code": 503,
    }
    (retry,) = events(chat, "lllm.retry")
    assert retry["lllm.retry.attempt"] == 1
    assert retry["lllm.retry.wait_s"] == pytest.approx(clock.sleeps[0])
    assert chat.status.status_code is StatusCode.UNSET  # the request succeeded in the end
    assert "error.type" not in dict(chat.attributes or {})


def test_a_request_that_keeps_failing_ends_both_spans_with_error_types(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent, _, _ = make_agent([api_error(400, message=f"bad key {SECRET}")])
    traced(agent, provider)

    with pytest.raises(Exception, match="not retryable"):
        agent.call(agent.init_dialog(), answer_prompt(), {"question": "?"})

    spans = exporter.get_finished_spans()
    (chat,) = named(spans, "chat scripted-model")
    assert dict(chat.attributes or {})["error.type"] == "LLMAPIError"
    assert chat.status.status_code is StatusCode.ERROR
    (agent_span,) = named(spans, "invoke_agent tester")
    assert dict(agent_span.attributes or {})["error.type"] == "AgentCallError"
    # Without content capture no error message reaches the spans.
    assert all(SECRET not in str(s.to_json()) for s in spans)
    assert all("bad key" not in str(s.to_json()) for s in spans)


def test_a_budget_error_ends_the_agent_span_naming_the_limit(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent, _, _ = make_agent(
        [tool_calls(call("add", a=1, b=2)), "<answer>3</answer>"],
        limits=CallLimits(budget=Budget(max_requests=1)),
    )
    traced(agent, provider)

    with pytest.raises(BudgetExceededError):
        agent.call(agent.init_dialog(), answer_prompt(functions=(add,)), {"question": "1+2?"})

    spans = exporter.get_finished_spans()
    assert tree(spans) == [
        "invoke_agent tester",
        "  chat scripted-model",
        "  execute_tool add",
    ]
    (agent_span,) = named(spans, "invoke_agent tester")
    attrs = dict(agent_span.attributes or {})
    assert attrs["error.type"] == "BudgetExceededError"
    assert attrs["lllm.budget.limit"] == "requests"
    assert agent_span.status.status_code is StatusCode.ERROR
    (chat,) = named(spans, "chat scripted-model")
    assert dict(chat.attributes or {})["gen_ai.response.finish_reasons"] == ("tool_calls",)
    (tool_span,) = named(spans, "execute_tool add")
    tool_attrs = dict(tool_span.attributes or {})
    assert tool_attrs["gen_ai.operation.name"] == "execute_tool"
    assert tool_attrs["gen_ai.tool.name"] == "add"
    assert tool_attrs["gen_ai.tool.call.id"] == "call_1"
    assert tool_attrs["gen_ai.tool.type"] == "function"
    assert "gen_ai.tool.call.arguments" not in tool_attrs


def test_a_repeated_tool_call_is_not_run_again_and_shows_as_an_event(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent, _, _ = make_agent(
        [
            tool_calls(call("add", a=1, b=2)),
            tool_calls(call("add", a=1, b=2)),
            "<answer>3</answer>",
        ]
    )
    traced(agent, provider)

    agent.call(agent.init_dialog(), answer_prompt(functions=(add,)), {"question": "1+2?"})

    spans = exporter.get_finished_spans()
    assert tree(spans) == [
        "invoke_agent tester",
        "  chat scripted-model",
        "  execute_tool add",
        "  chat scripted-model",
        "  chat scripted-model",
    ]
    (agent_span,) = named(spans, "invoke_agent tester")
    (repeat,) = events(agent_span, "lllm.tool_call_repeated")
    assert repeat == {
        "gen_ai.tool.name": "add",
        "gen_ai.tool.call.id": "call_2",
        "lllm.tool.repeated_of": "call_1",
    }


def test_repeated_agent_calls_and_a_fork_nest_under_the_workflow_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent, _, _ = make_agent(["<answer>1</answer>", "<answer>2</answer>", "<answer>3</answer>"])
    tracer = traced(agent, provider)

    with tracer.workflow("research", session="s-9"):
        dialog = agent.init_dialog(session="s-9")
        agent.call(dialog, answer_prompt(), {"question": "one"})
        agent.call(dialog, answer_prompt(), {"question": "two"})
        fork = dialog.fork()
        agent.call(fork, answer_prompt(), {"question": "three"})

    spans = exporter.get_finished_spans()
    assert tree(spans) == [
        "invoke_workflow research",
        "  invoke_agent tester",
        "    chat scripted-model",
        "  invoke_agent tester",
        "    chat scripted-model",
        "  invoke_agent tester",
        "    chat scripted-model",
    ]
    assert len({s.context.trace_id for s in spans}) == 1
    forked = named(spans, "invoke_agent tester")[2]
    attrs = dict(forked.attributes or {})
    assert attrs["lllm.dialog.id"] == fork.dialog_id
    assert attrs["lllm.dialog.parent_id"] == dialog.dialog_id
    (workflow,) = named(spans, "invoke_workflow research")
    assert dict(workflow.attributes or {})["lllm.session.id"] == "s-9"


def test_parallel_tools_of_acall_are_overlapping_sibling_spans_and_a_sub_agent_nests(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    helper, _, _ = make_agent(["<answer>helped</answer>"])
    helper.name = "helper"
    traced(helper, provider)
    started: list[str] = []
    both_started = asyncio.Event()

    async def wait_for_both(name: str) -> None:
        started.append(name)
        if len(started) == 2:
            both_started.set()
        await asyncio.wait_for(both_started.wait(), timeout=10)

    async def lookup(topic: str) -> str:
        """Look a topic up.

        Args:
            topic: What to look up.
        """
        await wait_for_both("lookup")
        return f"facts about {topic}"

    async def ask_helper(question: str) -> str:
        """Ask the helper agent.

        Args:
            question: The question.
        """
        await wait_for_both("ask_helper")
        result = await helper.acall(helper.init_dialog(), answer_prompt(), {"question": question})
        return str(result.parsed["xml_tags"]["answer"][0])

    tools = (Function.from_callable(lookup), Function.from_callable(ask_helper))
    agent, _, _ = make_agent(
        [
            tool_calls(call("lookup", topic="otel"), call("ask_helper", question="why?")),
            "<answer>done</answer>",
        ]
    )
    traced(agent, provider)

    asyncio.run(agent.acall(agent.init_dialog(), answer_prompt(functions=tools), {"question": "?"}))

    spans = exporter.get_finished_spans()
    assert tree(spans) == [
        "invoke_agent tester",
        "  chat scripted-model",
        "  execute_tool lookup",
        "  execute_tool ask_helper",
        "    invoke_agent helper",
        "      chat scripted-model",
        "  chat scripted-model",
    ]
    first, second = (
        named(spans, "execute_tool lookup")[0],
        named(spans, "execute_tool ask_helper")[0],
    )
    assert first.start_time is not None and second.start_time is not None
    assert first.end_time is not None and second.end_time is not None
    # Ran at once: each started before the other ended.
    assert first.start_time < second.end_time and second.start_time < first.end_time
    assert len({s.context.trace_id for s in spans}) == 1


def test_a_failing_tool_marks_its_span_with_an_error_type(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    def explode() -> str:
        """Always fails."""
        raise RuntimeError("boom")

    agent, _, _ = make_agent([tool_calls(call("explode")), "<answer>ok</answer>"])
    traced(agent, provider)

    agent.call(
        agent.init_dialog(),
        answer_prompt(functions=(Function.from_callable(explode),)),
        {"question": "?"},
    )

    (tool_span,) = named(exporter.get_finished_spans(), "execute_tool explode")
    assert dict(tool_span.attributes or {})["error.type"] == "ToolError"
    assert tool_span.status.status_code is StatusCode.ERROR


def test_content_is_captured_only_when_asked_and_then_redacted(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    agent, _, _ = make_agent(
        [
            tool_calls(call("add", a=1, b=2)),
            f"my key is {SECRET}",
            "<answer>3</answer>",
        ]
    )
    traced(agent, provider, capture_content=True)

    agent.call(
        agent.init_dialog(),
        answer_prompt(functions=(add,)),
        {"question": f"1+2? (key {SECRET})"},
    )

    spans = exporter.get_finished_spans()
    assert all(SECRET not in s.to_json() for s in spans)
    first = named(spans, "chat scripted-model")[0]
    attrs = dict(first.attributes or {})
    assert "You are a careful assistant." in str(attrs["gen_ai.system_instructions"])
    assert "[REDACTED]" in str(attrs["gen_ai.input.messages"])
    assert '"tool_call"' in str(attrs["gen_ai.output.messages"])
    (tool_span,) = named(spans, "execute_tool add")
    tool_attrs = dict(tool_span.attributes or {})
    assert tool_attrs["gen_ai.tool.call.arguments"] == '{"a":1,"b":2}'
    assert tool_attrs["gen_ai.tool.call.result"] == "3"
    (agent_span,) = named(spans, "invoke_agent tester")
    (failure,) = events(agent_span, "lllm.parse_failure")
    assert failure["lllm.parse.errors"]


def test_sub_agents_run_at_once_keep_their_own_spans_under_the_workflow(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    first, _, _ = make_agent(["<answer>a</answer>"])
    second, _, _ = make_agent([tool_calls(call("add", a=1, b=1)), "<answer>b</answer>"])
    first.name, second.name = "first", "second"
    tracer = traced(first, provider)
    second.tracer = tracer

    async def run() -> None:
        with tracer.workflow("pair", session="s-2"):
            await asyncio.gather(
                first.acall(first.init_dialog(), answer_prompt(), {"question": "?"}),
                second.acall(
                    second.init_dialog(), answer_prompt(functions=(add,)), {"question": "?"}
                ),
            )

    asyncio.run(run())

    lines = tree(exporter.get_finished_spans())
    assert lines[0] == "invoke_workflow pair"
    assert sorted(lines[1:]) == sorted(
        [
            "  invoke_agent first",
            "    chat scripted-model",
            "  invoke_agent second",
            "    chat scripted-model",
            "    execute_tool add",
            "    chat scripted-model",
        ]
    )
    i = lines.index("  invoke_agent second")
    assert lines[i + 1 : i + 4] == [
        "    chat scripted-model",
        "    execute_tool add",
        "    chat scripted-model",
    ]
