"""A tracer provider that does the least possible work on the agent's thread.

The OpenTelemetry SDK's spans cost about 30-70 µs each on the thread that makes them (locks,
attribute cleaning, span processors), and its OTLP exporter then encodes each span to protobuf
under the same interpreter lock: on the loopback benchmark tracing cost 18-24 % of an agent
call. :class:`LightTracerProvider` implements the OpenTelemetry *API* (so :class:`OtelTracer`,
``trace.use_span``, ``inject`` and the user's own ``tracer.start_span`` calls all work on it)
with spans that only record plain values; a finished span becomes a relay record
(:func:`~lllm_adapters.tracing.relay.span_record`'s shape) in a queue, and a background thread
hands batches of them to the export process of :mod:`lllm_adapters.tracing.relay`, where the
SDK's own OTLP exporter sends them.

It keeps what the SDK is configured with: the sampler (``OTEL_TRACES_SAMPLER``), the resource
(``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``), the id generator and the batch settings
(``OTEL_BSP_SCHEDULE_DELAY``, ``OTEL_BSP_MAX_QUEUE_SIZE``, ``OTEL_BSP_MAX_EXPORT_BATCH_SIZE``).
It has no span processors: a team that adds its own processors or exporters passes its SDK
``TracerProvider`` to :class:`OtelTracer` instead.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from lllm_domain.errors import ConfigError

from lllm_adapters.extras import requires_extra
from lllm_adapters.tracing.relay import (
    FrameSink,
    RelayChild,
    encode_records,
    make_record,
    pack_context,
)

with requires_extra("otel", __name__):
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import Decision
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags
    from opentelemetry.trace.status import Status, StatusCode
    from opentelemetry.util import types

logger = logging.getLogger(__name__)

_VALUE_TYPES = (str, bool, int, float)
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_UNSAMPLED = TraceFlags(TraceFlags.DEFAULT)


_PARENT_BASED_ALWAYS_ON = (
    "ParentBased{root:AlwaysOnSampler,remoteParentSampled:AlwaysOnSampler,"
    "remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,"
    "localParentNotSampled:AlwaysOffSampler}"
)
"""The SDK's default sampler's description: a span is sampled when its parent is (or it has
none), which :class:`LightTracer` decides without calling the sampler."""


def _valid(value: object) -> bool:
    if isinstance(value, _VALUE_TYPES):
        return True
    if isinstance(value, list | tuple):
        if not value:
            return True
        kind = type(value[0])
        return kind in _VALUE_TYPES and all(type(item) is kind for item in value)
    return False


def _clean(attributes: types.Attributes, into: dict[str, Any] | None = None) -> dict[str, Any]:
    """The valid attributes of ``attributes`` (what the SDK keeps; others are logged)."""
    cleaned: dict[str, Any] = {} if into is None else into
    if not attributes:
        return cleaned
    for key, value in attributes.items():
        if type(value) in _VALUE_TYPES or _valid(value):
            cleaned[key] = value
        else:
            logger.warning(
                "OpenTelemetry: attribute %r dropped: a %s is not a valid attribute value "
                "(str, bool, int, float or a sequence of one of them)",
                key,
                type(value).__name__,
            )
    return cleaned


def _setting(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise ConfigError(f"{name}={raw!r}: set it to a positive whole number (or unset it)")
    return value


class LightSpan(trace.Span):
    """A span that records plain values; ended, it is queued for export."""

    __slots__ = (
        "_attributes",
        "_context",
        "_end",
        "_events",
        "_kind",
        "_links",
        "_name",
        "_parent",
        "_provider",
        "_scope",
        "_start",
        "_status",
    )

    def __init__(
        self,
        provider: LightTracerProvider,
        scope: InstrumentationScope,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: dict[str, Any],
        links: list[Any],
        start: int,
    ) -> None:
        self._provider = provider
        self._scope = scope
        self._name = name
        self._context = context
        self._parent = parent
        self._kind = kind
        self._attributes = attributes
        self._links = links
        self._start = start
        self._events: list[Any] = []
        self._status: list[Any] = [StatusCode.UNSET.value, None]
        self._end: int | None = None

    def __repr__(self) -> str:
        return f"LightSpan({self._name!r}, span_id={self._context.span_id:016x})"

    @property
    def name(self) -> str:
        """The span's name."""
        return self._name

    @property
    def attributes(self) -> Mapping[str, Any]:
        """The span's attributes so far (a read-only view)."""
        return MappingProxyType(self._attributes)

    def end(self, end_time: int | None = None) -> None:
        if self._end is not None:
            logger.warning("OpenTelemetry: span %r ended twice; the second end is ignored", self)
            return
        self._end = end_time if end_time is not None else time.time_ns()
        self._provider._finished(self)

    def record(self) -> list[Any]:
        """This (ended) span as a relay record."""
        return make_record(
            self._name,
            self._context,
            self._parent,
            self._kind,
            self._start,
            self._end,
            self._attributes,
            self._events,
            self._links,
            self._status,
            self._provider.resource,
            self._scope,
        )

    def get_span_context(self) -> SpanContext:
        return self._context

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        if self._end is None:
            _clean(attributes, self._attributes)

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        if self._end is None:
            _clean({key: value}, self._attributes)

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        if self._end is None:
            stamp = timestamp if timestamp is not None else time.time_ns()
            self._events.append([name, stamp, _clean(attributes)])

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        if self._end is None and context.is_valid:
            self._links.append([pack_context(context), _clean(attributes)])

    def update_name(self, name: str) -> None:
        if self._end is None:
            self._name = name

    def is_recording(self) -> bool:
        return self._end is None

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._end is not None:
            return
        if isinstance(status, Status):
            code, description = status.status_code, status.description
        else:
            code = status
        if self._status[0] == StatusCode.OK.value:
            return  # OK is final, as in the SDK
        self._status = [code.value, description if code is StatusCode.ERROR else None]

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        import traceback

        event = {
            "exception.type": type(exception).__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        event.update(_clean(attributes))
        self.add_event("exception", event, timestamp)


class LightTracer(trace.Tracer):
    """Makes :class:`LightSpan` s for one instrumentation scope."""

    __slots__ = ("_provider", "_scope")

    def __init__(self, provider: LightTracerProvider, scope: InstrumentationScope) -> None:
        self._provider = provider
        self._scope = scope

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        provider = self._provider
        parent = trace.get_current_span(context).get_span_context()
        if not parent.is_valid:
            parent_context: SpanContext | None = None
            trace_id = provider.id_generator.generate_trace_id()
        else:
            parent_context = parent
            trace_id = parent.trace_id
        if provider.parent_based_always_on:
            sampled = parent_context is None or parent.trace_flags.sampled
            trace_state = parent.trace_state if parent_context is not None else None
            kept = attributes
        else:
            sampling = provider.sampler.should_sample(
                context, trace_id, name, kind, attributes, links
            )
            sampled = sampling.decision is Decision.RECORD_AND_SAMPLE
            trace_state = sampling.trace_state
            kept = sampling.attributes  # the sampler's say: what the span starts with
        span_context = SpanContext(
            trace_id,
            provider.id_generator.generate_span_id(),
            is_remote=False,
            trace_flags=_SAMPLED if sampled else _UNSAMPLED,
            trace_state=trace_state,
        )
        if not sampled or provider.closed:
            return trace.NonRecordingSpan(span_context)
        values = _clean(kept)
        packed_links = [
            [pack_context(link.context), _clean(link.attributes)]
            for link in links or ()
            if link.context.is_valid
        ]
        return LightSpan(
            provider,
            self._scope,
            name,
            span_context,
            parent_context,
            kind,
            values,
            packed_links,
            start_time if start_time is not None else time.time_ns(),
        )

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current


class LightTracerProvider(trace.TracerProvider):
    """An OpenTelemetry API tracer provider whose spans are exported with OTLP/HTTP by a child
    process, with almost no work on the threads that make them (see the module's docstring).

    Args:
        resource: the spans' resource (``Resource.create()``, i.e. the ``OTEL_*`` variables',
            when omitted).
        environ: where the ``OTEL_BSP_*`` batch settings are read (the process environment).
        child: the export process (a new :class:`RelayChild` when omitted).

    Call :meth:`shutdown` at the end of the run: it sends what is still queued.
    """

    def __init__(
        self,
        resource: Resource | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        child: FrameSink | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        sdk = TracerProvider(resource=resource, shutdown_on_exit=False)
        self.resource: Resource = sdk.resource
        self.sampler = sdk.sampler
        self.parent_based_always_on = self.sampler.get_description() == _PARENT_BASED_ALWAYS_ON
        self.id_generator = sdk.id_generator
        self.schedule_delay = _setting(env, "OTEL_BSP_SCHEDULE_DELAY", 5000) / 1000
        self.max_queue_size = _setting(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048)
        self.max_batch_size = min(
            _setting(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512), self.max_queue_size
        )
        self.child: FrameSink = child if child is not None else RelayChild()
        self.closed = False
        self.dropped = 0
        """Spans dropped because the queue was full."""
        self._queue: deque[LightSpan] = deque()
        self._wake = threading.Event()
        self._send_lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._thread_pid = 0
        reference = weakref.WeakMethod(self._after_fork)
        os.register_at_fork(after_in_child=lambda: (method := reference()) and method())
        self._scopes: dict[tuple[str, str | None, str | None], InstrumentationScope] = {}

    def __repr__(self) -> str:
        return f"LightTracerProvider(queued={len(self._queue)}, {self.child!r})"

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> trace.Tracer:
        """The tracer of one instrumentation scope."""
        key = (instrumenting_module_name, instrumenting_library_version, schema_url)
        scope = self._scopes.get(key)
        if scope is None:
            scope = InstrumentationScope(
                instrumenting_module_name, instrumenting_library_version, schema_url, attributes
            )
            self._scopes[key] = scope
        return LightTracer(self, scope)

    # -- the queue ---------------------------------------------------------------------------

    def _after_fork(self) -> None:
        """In a forked child: new locks and an empty queue (the parent exports what it had);
        the export thread and process are started again on the first span."""
        self._queue = deque()
        self._wake = threading.Event()
        self._send_lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._thread = None

    def _finished(self, span: LightSpan) -> None:
        queue = self._queue
        if self.closed:
            return
        if len(queue) >= self.max_queue_size:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.warning(
                    "OpenTelemetry: the span queue is full (OTEL_BSP_MAX_QUEUE_SIZE=%d); "
                    "%d spans dropped so far",
                    self.max_queue_size,
                    self.dropped,
                )
            return
        queue.append(span)
        if self._thread_pid != os.getpid():
            self._start_thread()
        if len(queue) >= self.max_batch_size:
            self._wake.set()

    def _start_thread(self) -> None:
        with self._thread_lock:
            if self._thread_pid == os.getpid() or self.closed:
                return
            self._thread = threading.Thread(target=self._work, name="lllm-otel-export", daemon=True)
            self._thread_pid = os.getpid()
            self._thread.start()

    def _work(self) -> None:
        while not self.closed:
            self._wake.wait(self.schedule_delay)
            self._wake.clear()
            self._send_queued()

    def _send_queued(self) -> bool:
        """Send everything queued, a batch at a time; whether every batch was exported."""
        ok = True
        with self._send_lock:
            queue = self._queue
            while queue:
                size = min(len(queue), self.max_batch_size)
                batch = [queue.popleft().record() for _ in range(size)]
                ok = self.child.send(encode_records(batch), len(batch)) and ok
        return ok

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export every span ended so far; whether the endpoint took them all."""
        return self._send_queued()

    def shutdown(self) -> None:
        """Send what is queued, stop the export thread and the export process. Spans started
        afterwards are not recorded."""
        if self.closed:
            return
        self.closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and self._thread_pid == os.getpid():
            thread.join(self.child.timeout + 10)
        self._send_queued()
        self.child.close()
