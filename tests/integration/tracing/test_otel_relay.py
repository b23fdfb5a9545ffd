"""The export process: LLLM's light tracer provider (and an SDK provider with the relay
exporter) hand spans to a real child process, which exports them with OTLP/HTTP to a local
collector; it is replaced when killed, forked processes get their own, and it exits with the
provider."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator

import pytest
from lllm_adapters.tracing import LightTracerProvider, RelaySpanExporter, otlp_tracer_provider
from lllm_adapters.tracing.relay import RelayChild
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Link, SpanKind, StatusCode

from tests.support.otlp_collector import Collector, otlp_collector


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    with otlp_collector() as running:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", running.endpoint)
        for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME", "LLLM_OTEL_RELAY"):
            monkeypatch.delenv(name, raising=False)
        yield running


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not alive: the provider waits for its child
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_the_light_provider_exports_everything_a_span_holds_through_the_child(
    collector: Collector,
) -> None:
    provider = otlp_tracer_provider()
    assert isinstance(provider, LightTracerProvider)
    tracer = provider.get_tracer("lllm", "1.2.3")
    with tracer.start_as_current_span("outer", kind=SpanKind.SERVER) as outer:
        outer.set_attribute("lllm.session.id", "s-1")
        outer.add_event("lllm.retry", {"lllm.retry.attempt": 2, "error.type": "RateLimit"})
        inner = tracer.start_span(
            "inner",
            attributes={"gen_ai.response.finish_reasons": ("stop",), "n": 3, "ok": True},
            links=[Link(outer.get_span_context(), {"why": "test"})],
        )
        inner.set_status(StatusCode.ERROR, "ToolError")
        inner.end()
    assert provider.force_flush()
    child_pid = provider.child.pid  # type: ignore[attr-defined]
    assert child_pid is not None and child_pid != os.getpid()
    provider.shutdown()
    assert not _alive(child_pid)

    spans = {s["name"]: s for s in collector.spans()}
    assert set(spans) == {"outer", "inner"}
    outer_span, inner_span = spans["outer"], spans["inner"]
    assert inner_span["trace_id"] == outer_span["trace_id"]
    assert inner_span["parent_id"] == outer_span["span_id"]
    assert outer_span["parent_id"] == ""
    assert outer_span["attributes"] == {"lllm.session.id": "s-1"}
    assert outer_span["events"] == ["lllm.retry"]
    assert inner_span["attributes"] == {
        "gen_ai.response.finish_reasons": ("stop",),
        "n": 3,
        "ok": True,
    }
    assert outer_span["event_attributes"] == [{"lllm.retry.attempt": 2, "error.type": "RateLimit"}]
    assert outer_span["kind"] == 2  # OTLP's SPAN_KIND_SERVER
    assert inner_span["kind"] == 1  # SPAN_KIND_INTERNAL
    assert inner_span["status"] == (2, "ToolError")  # STATUS_CODE_ERROR
    assert outer_span["status"] == (0, "")
    assert inner_span["links"] == [(outer_span["span_id"], {"why": "test"})]
    assert outer_span["start"] <= inner_span["start"] <= inner_span["end"] <= outer_span["end"]
    assert outer_span["scope"] == "lllm"
    assert outer_span["scope_version"] == "1.2.3"
    assert outer_span["resource"]["service.name"] == "lllm"


def test_spans_after_shutdown_are_not_recorded_and_shutdown_is_idempotent(
    collector: Collector,
) -> None:
    provider = otlp_tracer_provider()
    tracer = provider.get_tracer("lllm")
    tracer.start_span("before").end()
    provider.shutdown()
    late = tracer.start_span("after")
    assert not late.is_recording()
    late.end()
    provider.shutdown()
    assert [s["name"] for s in collector.spans()] == ["before"]


def test_a_killed_export_process_is_replaced_and_the_batch_is_sent_again(
    collector: Collector,
) -> None:
    provider = otlp_tracer_provider()
    assert isinstance(provider, LightTracerProvider)
    tracer = provider.get_tracer("lllm")
    tracer.start_span("first").end()
    assert provider.force_flush()
    first_child = provider.child.pid  # type: ignore[attr-defined]
    assert first_child is not None
    os.kill(first_child, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(first_child) and time.monotonic() < deadline:
        time.sleep(0.01)
    tracer.start_span("second").end()
    assert provider.force_flush()
    second_child = provider.child.pid  # type: ignore[attr-defined]
    provider.shutdown()
    assert second_child not in (None, first_child)
    assert sorted(s["name"] for s in collector.spans()) == ["first", "second"]


def _traced_in_fork(provider: LightTracerProvider) -> None:
    provider.get_tracer("lllm").start_span("in the fork").end()
    provider.shutdown()


def test_a_forked_process_exports_through_its_own_child_without_the_parents_spans(
    collector: Collector,
) -> None:
    provider = otlp_tracer_provider()
    assert isinstance(provider, LightTracerProvider)
    tracer = provider.get_tracer("lllm")
    tracer.start_span("parent, before the fork").end()  # queued: the fork must not send it
    fork = multiprocessing.get_context("fork").Process(target=_traced_in_fork, args=(provider,))
    fork.start()
    fork.join(30)
    assert fork.exitcode == 0
    tracer.start_span("parent, after the fork").end()
    provider.shutdown()
    assert sorted(s["name"] for s in collector.spans()) == [
        "in the fork",
        "parent, after the fork",
        "parent, before the fork",
    ]


def test_an_unreachable_endpoint_fails_the_flush_and_does_not_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # discard: closed
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.delenv("LLLM_OTEL_RELAY", raising=False)
    provider = otlp_tracer_provider()
    provider.get_tracer("lllm").start_span("lost").end()
    started = time.monotonic()
    assert provider.force_flush() is False
    provider.shutdown()
    assert time.monotonic() - started < 30


def test_a_child_that_cannot_start_is_reported_and_not_restarted_in_a_busy_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = RelayChild(python="/nonexistent/python3")
    provider = LightTracerProvider(child=sink)
    tracer = provider.get_tracer("lllm")
    with caplog.at_level(logging.WARNING, logger="lllm_adapters.tracing.relay"):
        tracer.start_span("a").end()
        assert provider.force_flush() is False
        tracer.start_span("b").end()
        assert provider.force_flush() is False
    provider.shutdown()
    messages = [r.getMessage() for r in caplog.records]
    assert any("/nonexistent/python3" in m or "No such file" in m for m in messages), messages
    assert any("not restarted yet" in m for m in messages), messages


def test_the_sampler_from_the_environment_is_kept(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    provider = otlp_tracer_provider()
    span = provider.get_tracer("lllm").start_span("dropped")
    assert not span.is_recording()
    assert not span.get_span_context().trace_flags.sampled
    span.end()
    provider.shutdown()
    assert collector.spans() == []


def test_an_sdk_provider_can_export_through_the_relay_exporter(collector: Collector) -> None:
    exporter = RelaySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    with provider.get_tracer("lllm").start_as_current_span("sdk span") as span:
        span.set_attribute("k", "v")
        assert trace.get_current_span() is span
    provider.shutdown()
    assert exporter.child.pid is None
    (exported,) = collector.spans()
    assert exported["name"] == "sdk span"
    assert exported["attributes"] == {"k": "v"}


def test_relay_off_gives_the_sdk_provider(collector: Collector) -> None:
    provider = otlp_tracer_provider({"LLLM_OTEL_RELAY": "0"})
    assert isinstance(provider, TracerProvider)
    provider.get_tracer("lllm").start_span("in process").end()
    provider.shutdown()
    assert [s["name"] for s in collector.spans()] == ["in process"]
