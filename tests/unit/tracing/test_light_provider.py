"""LLLM's light tracer provider on its own (a sink decodes its frames as the export process
does): attribute checks, the queue's limit, status rules, ended spans, batch settings."""

from __future__ import annotations

import logging

import pytest
from lllm_adapters.tracing import LightTracerProvider
from lllm_adapters.tracing.relay import unpack_spans
from lllm_domain.errors import ConfigError
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import NonRecordingSpan, SpanContext, StatusCode, TraceFlags


class Sink:
    timeout = 5.0

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []
        self.frames = 0

    def send(self, body: bytes, count: int) -> bool:
        self.frames += 1
        self.spans.extend(unpack_spans(body))
        return True

    def close(self) -> None:
        pass


def test_an_invalid_attribute_value_is_dropped_with_a_warning_naming_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = Sink()
    provider = LightTracerProvider(child=sink)
    with caplog.at_level(logging.WARNING):
        span = provider.get_tracer("t").start_span("s", attributes={"ok": 1, "bad": {"nested": 1}})
        span.set_attribute("mixed", [1, "two"])  # type: ignore[list-item]
        span.set_attribute("list", [1, 2])
        span.end()
    provider.force_flush()
    provider.shutdown()
    (exported,) = sink.spans
    assert dict(exported.attributes or {}) == {"ok": 1, "list": (1, 2)}
    assert "attribute 'bad' dropped: a dict" in caplog.text
    assert "attribute 'mixed' dropped: a list" in caplog.text


def test_a_full_queue_drops_spans_and_counts_them(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sink = Sink()
    provider = LightTracerProvider(child=sink, environ={"OTEL_BSP_MAX_QUEUE_SIZE": "3"})
    provider._start_thread = lambda: None  # type: ignore[method-assign]  # no background sends
    tracer = provider.get_tracer("t")
    with caplog.at_level(logging.WARNING):
        for n in range(5):
            tracer.start_span(f"s{n}").end()
    assert provider.dropped == 2
    assert "OTEL_BSP_MAX_QUEUE_SIZE=3" in caplog.text
    provider.shutdown()
    assert [s.name for s in sink.spans] == ["s0", "s1", "s2"]


def test_ok_status_is_final_and_an_ended_span_ignores_changes() -> None:
    sink = Sink()
    provider = LightTracerProvider(child=sink)
    span = provider.get_tracer("t").start_span("s")
    span.set_status(StatusCode.OK)
    span.set_status(StatusCode.ERROR, "late")
    span.end()
    span.set_attribute("after", 1)
    span.add_event("after")
    span.end()  # ignored, with a warning
    provider.shutdown()
    (exported,) = sink.spans
    assert exported.status.status_code is StatusCode.OK
    assert not exported.attributes and not exported.events


def test_batches_are_cut_at_the_configured_size() -> None:
    sink = Sink()
    provider = LightTracerProvider(child=sink, environ={"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2"})
    provider._start_thread = lambda: None  # type: ignore[method-assign]
    for n in range(5):
        provider.get_tracer("t").start_span(f"s{n}").end()
    provider.shutdown()
    assert sink.frames == 3
    assert len(sink.spans) == 5


def test_a_bad_batch_setting_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="OTEL_BSP_SCHEDULE_DELAY='soon'"):
        LightTracerProvider(child=Sink(), environ={"OTEL_BSP_SCHEDULE_DELAY": "soon"})


def test_children_follow_their_parents_sampling_decision_with_the_default_sampler() -> None:
    sink = Sink()
    provider = LightTracerProvider(child=sink)
    assert provider.parent_based_always_on
    tracer = provider.get_tracer("t")
    unsampled = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(0))
    with trace.use_span(NonRecordingSpan(unsampled)):
        child = tracer.start_span("child of an unsampled parent")
    assert not child.is_recording()
    assert child.get_span_context().trace_id == 0xABC
    sampled = SpanContext(0xABC, 0xDEF, is_remote=True, trace_flags=TraceFlags(1))
    with trace.use_span(NonRecordingSpan(sampled)):
        kept = tracer.start_span("child of a sampled parent")
    kept.end()
    provider.shutdown()
    (exported,) = sink.spans
    assert exported.parent is not None and exported.parent.span_id == 0xDEF
    assert exported.parent.is_remote
