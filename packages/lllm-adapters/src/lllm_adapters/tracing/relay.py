"""OTLP export in a child process, so encoding and sending spans does not take the agent's
interpreter lock.

The OpenTelemetry SDK's OTLP exporter builds a protobuf message per span and posts it with
``requests``: on the loopback benchmark that was about half of what tracing cost, spent on the
batch processor's thread but under the same interpreter lock as the agent calls.
:class:`RelaySpanExporter` keeps the SDK's batch span processor (its queue, batch size, delay and
``OTEL_BSP_*`` settings) but only packs each batch with msgspec and hands it to a child process
(``python -m lllm_adapters.tracing.relay``), which rebuilds the spans and exports them with the
SDK's own :class:`OTLPSpanExporter`, configured by the same ``OTEL_*`` variables (the child
inherits the environment). ``export`` waits for the child's result, blocked on a pipe with the
lock released, so a batch is reported exported only once the endpoint has taken it and
``force_flush`` / ``shutdown`` mean what they mean in-process.

The child is started on the first batch (and again in a forked process, which must not share
its parent's pipe). A child that had been working and is found dead (killed, crashed) is
replaced at once and the batch sent again; one that never answered is retried at most once
every :data:`RESTART_INTERVAL` seconds, and the batches meanwhile are reported failed, as an
unreachable endpoint's are. ``shutdown`` closes the pipe: the child sends nothing more and exits.
"""

from __future__ import annotations

import logging
import os
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO, Any, Protocol

import msgspec

from lllm_adapters.extras import requires_extra

with requires_extra("otel", __name__):
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import Link, SpanContext, SpanKind, TraceState
    from opentelemetry.trace.status import Status, StatusCode

logger = logging.getLogger(__name__)

RESTART_INTERVAL = 5.0
"""Seconds between attempts to start a new child after one died."""

ANSWER_MARGIN = 5.0
"""Seconds the parent waits for the child's answer beyond the exporter's own timeout."""

_HEADER = struct.Struct(">I")
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()


class RelayError(RuntimeError):
    """The relay child could not be started or did not answer (the batch is reported failed)."""


class _ChildGone(RelayError):
    """The child had exited when it was written to or read from."""


# -- packing spans ------------------------------------------------------------------------------


def pack_context(context: SpanContext) -> list[Any]:
    """A span context as relay data (ids as bytes: msgpack integers stop at 64 bits)."""
    return [
        context.trace_id.to_bytes(16, "big"),
        context.span_id.to_bytes(8, "big"),
        int(context.trace_flags),
        list(context.trace_state.items()) if context.trace_state else [],
        context.is_remote,
    ]


def _unpack_context(data: Sequence[Any]) -> SpanContext:
    trace_id, span_id, flags, state, remote = data
    return SpanContext(
        int.from_bytes(trace_id, "big"),
        int.from_bytes(span_id, "big"),
        is_remote=remote,
        trace_flags=flags,
        trace_state=TraceState([tuple(pair) for pair in state]) if state else None,
    )


def _attributes(attributes: Any) -> dict[str, Any]:
    return dict(attributes) if attributes else {}


def make_record(
    name: str,
    context: SpanContext,
    parent: SpanContext | None,
    kind: SpanKind,
    start: int | None,
    end: int | None,
    attributes: dict[str, Any],
    events: list[Any],
    links: list[Any],
    status: list[Any],
    resource: Resource,
    scope: InstrumentationScope | None,
) -> list[Any]:
    """One span as a relay record, the list :func:`encode_records` packs: ``events`` as
    ``[name, time, attributes]`` lists, ``links`` as ``[packed context, attributes]`` lists,
    ``status`` as ``[code value, description]``; the last two items (resource and scope) are
    replaced by table indices when packed."""
    return [
        name,
        pack_context(context),
        None if parent is None else pack_context(parent),
        kind.value,
        start,
        end,
        attributes,
        events,
        links,
        status,
        resource,
        scope,
    ]


def span_record(span: ReadableSpan) -> list[Any]:
    """A finished SDK span as a relay record (see :func:`make_record`)."""
    context = span.context
    assert context is not None  # every span the SDK ends has one
    status = span.status
    return make_record(
        span.name,
        context,
        span.parent,
        span.kind,
        span.start_time,
        span.end_time,
        _attributes(span.attributes),
        [[e.name, e.timestamp, _attributes(e.attributes)] for e in span.events],
        [[pack_context(link.context), _attributes(link.attributes)] for link in span.links],
        [status.status_code.value, status.description],
        span.resource,
        span.instrumentation_scope,
    )


def encode_records(records: Sequence[list[Any]]) -> bytes:
    """``records`` (see :func:`make_record`) as one msgpack frame body: each resource and scope
    once, then the spans pointing at them. The records are changed in place."""
    resources: dict[int, int] = {}
    scopes: dict[int, int] = {}
    resource_table: list[Any] = []
    scope_table: list[Any] = []
    for record in records:
        resource, scope = record[10], record[11]
        r = resources.get(id(resource))
        if r is None:
            r = resources[id(resource)] = len(resource_table)
            resource_table.append([_attributes(resource.attributes), resource.schema_url])
        s = scopes.get(id(scope))
        if s is None:
            s = scopes[id(scope)] = len(scope_table)
            scope_table.append(
                None
                if scope is None
                else [scope.name, scope.version, scope.schema_url, _attributes(scope.attributes)]
            )
        record[10], record[11] = r, s
    return _encoder.encode([resource_table, scope_table, records])


def pack_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """Finished SDK ``spans`` as one frame body for the child."""
    return encode_records([span_record(span) for span in spans])


def unpack_spans(body: bytes) -> list[ReadableSpan]:
    """The spans :func:`pack_spans` packed, rebuilt for an SDK exporter."""
    resource_table, scope_table, packed = _decoder.decode(body)
    resources = [Resource(attributes, schema_url) for attributes, schema_url in resource_table]
    scopes = [
        None
        if scope is None
        else InstrumentationScope(scope[0], scope[1], scope[2], scope[3] or None)
        for scope in scope_table
    ]
    spans: list[ReadableSpan] = []
    for name, context, parent, kind, start, end, attrs, events, links, status, r, s in packed:
        spans.append(
            ReadableSpan(
                name,
                context=_unpack_context(context),
                parent=None if parent is None else _unpack_context(parent),
                resource=resources[r],
                attributes=_tuples(attrs),
                events=tuple(Event(n, _tuples(a), timestamp=t) for n, t, a in events),
                links=tuple(Link(_unpack_context(c), _tuples(a)) for c, a in links),
                kind=SpanKind(kind),
                status=Status(StatusCode(status[0]), status[1]),
                start_time=start,
                end_time=end,
                instrumentation_scope=scopes[s],
            )
        )
    return spans


def _tuples(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attribute values as the SDK keeps them (sequences as tuples; msgpack gives lists)."""
    for key, value in attributes.items():
        if type(value) is list:
            attributes[key] = tuple(value)
    return attributes


# -- frames ---------------------------------------------------------------------------------------


def _write_frame(stream: IO[bytes], body: bytes) -> None:
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_frame(stream: IO[bytes]) -> bytes | None:
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    return _read_exactly(stream, _HEADER.unpack(header)[0])


# -- the parent's side ---------------------------------------------------------------------------


class FrameSink(Protocol):
    """Where a :class:`~lllm_adapters.tracing.light.LightTracerProvider` sends its frames of
    spans: a :class:`RelayChild`, or in tests something that decodes them with
    :func:`unpack_spans`."""

    timeout: float
    """Seconds one :meth:`send` may take."""

    def send(self, body: bytes, count: int) -> bool:
        """Export one frame of ``count`` spans; whether they were taken."""
        ...

    def close(self) -> None:
        """Stop; nothing more is sent."""
        ...


class RelayChild:
    """The child process that exports frames of spans, started on first use (and again in a
    forked process, or after it died, at most once every :data:`RESTART_INTERVAL` seconds).

    Args:
        timeout: seconds the child's exporter may take per batch (``OTEL_EXPORTER_OTLP_TIMEOUT``
            /``OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`` when omitted, else 10); the parent waits
            :data:`ANSWER_MARGIN` more before it gives the child up.
        python: the interpreter that runs the child (this one by default).
    """

    def __init__(self, *, timeout: float | None = None, python: str = sys.executable) -> None:
        self.timeout = timeout if timeout is not None else _exporter_timeout()
        self._python = python
        self._lock = threading.Lock()
        self._child: subprocess.Popen[bytes] | None = None
        self._pid = 0
        self._last_start = -RESTART_INTERVAL
        self._answered = False
        """Whether the current child has answered a frame (one that never did is restarted at
        most once every :data:`RESTART_INTERVAL` seconds; one that worked, at once)."""
        self._closed = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"pid={self.pid}"
        return f"RelayChild({state})"

    @property
    def pid(self) -> int | None:
        """The process id of the running child, if one is running."""
        child = self._child
        return child.pid if child is not None and self._pid == os.getpid() else None

    def send(self, body: bytes, count: int) -> bool:
        """Export one frame of ``count`` spans through the child; whether the endpoint took
        them. A child found dead (killed, crashed) is replaced and the frame sent again once;
        a failure is logged with its reason."""
        with self._lock:
            if self._closed:
                return False
            try:
                try:
                    return self._exchange(body)
                except _ChildGone:
                    if not self._answered:
                        raise
                    self._stop_child(kill=True)  # it was working: replace it, send again
                    return self._exchange(body)
            except (OSError, RelayError) as error:
                self._stop_child(kill=True)
                logger.warning(
                    "OpenTelemetry: %d spans were not exported: the export process (%s) %s",
                    count,
                    f"{sys.executable} -m {__name__}",
                    error,
                )
                return False

    def _exchange(self, body: bytes) -> bool:
        """Write one frame to the (running or new) child and read its answer."""
        child = self._running_child()
        assert child.stdin is not None
        try:
            _write_frame(child.stdin, body)
        except BrokenPipeError as gone:
            raise _ChildGone("had exited") from gone
        return self._answer(child)

    def _answer(self, child: subprocess.Popen[bytes]) -> bool:
        assert child.stdout is not None
        wait = self.timeout + ANSWER_MARGIN
        ready, _, _ = select.select([child.stdout], [], [], wait)
        if not ready:
            raise RelayError(f"did not answer within {wait:.0f} s; it was stopped")
        frame = _read_frame(child.stdout)
        if frame is None:
            raise _ChildGone(f"exited (code {child.wait()}); see its messages above")
        self._answered = True
        return bool(_decoder.decode(frame))

    def _running_child(self) -> subprocess.Popen[bytes]:
        child = self._child
        if child is not None and self._pid == os.getpid() and child.poll() is None:
            return child
        if self._pid != os.getpid():
            self._child = None  # a forked copy: the pipe belongs to the parent process
            self._answered = False
        elif child is not None:
            self._stop_child(kill=True)
        now = time.monotonic()
        if not self._answered and now - self._last_start < RESTART_INTERVAL:
            raise RelayError(f"stopped less than {RESTART_INTERVAL:.0f} s ago; not restarted yet")
        self._last_start = now
        self._answered = False
        self._child = subprocess.Popen(
            [self._python, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        self._pid = os.getpid()
        return self._child

    def _stop_child(self, *, kill: bool, timeout: float = 0.0) -> None:
        child, self._child = self._child, None
        if child is None or self._pid != os.getpid():
            return
        try:
            if child.stdin is not None:
                child.stdin.close()
        except OSError:
            pass
        if not kill:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                logger.warning("OpenTelemetry: the export process did not exit; it was killed")
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()

    def close(self) -> None:
        """Close the pipe and wait for the child to exit (it has nothing left to send)."""
        with self._lock:
            self._closed = True
            self._stop_child(kill=False, timeout=self.timeout + ANSWER_MARGIN)


class RelaySpanExporter(SpanExporter):
    """An SDK span exporter that hands each batch to a :class:`RelayChild` exporting with
    OTLP/HTTP (see the module's docstring); use it under the SDK's ``BatchSpanProcessor``.
    Arguments as :class:`RelayChild`'s."""

    def __init__(self, *, timeout: float | None = None, python: str = sys.executable) -> None:
        self.child = RelayChild(timeout=timeout, python=python)

    def __repr__(self) -> str:
        return f"RelaySpanExporter({self.child!r})"

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Send ``spans`` through the child; SUCCESS once the endpoint took them."""
        if not spans:
            return SpanExportResult.SUCCESS
        ok = self.child.send(pack_spans(spans), len(spans))
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is held here: every batch is exported before :meth:`export` returns."""
        return True

    def shutdown(self) -> None:
        """Close the pipe and wait for the child to exit."""
        self.child.close()


def _exporter_timeout() -> float:
    for name in ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return float(value)
            except ValueError:
                break  # the SDK's exporter reports the bad value
    return 10.0


# -- the child's side ----------------------------------------------------------------------------


def main() -> int:
    """The child: export each frame of spans read from stdin with the SDK's OTLP/HTTP
    exporter and answer whether it succeeded; exit at the end of stdin."""
    logging.basicConfig(format="lllm otel export: %(levelname)s %(message)s")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter = OTLPSpanExporter()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but answers may reach the parent's pipe
    try:
        while (frame := _read_frame(stdin)) is not None:
            try:
                result = exporter.export(unpack_spans(frame))
            except Exception:
                logger.exception("a batch of spans could not be exported")
                result = SpanExportResult.FAILURE
            _write_frame(stdout, _encoder.encode(result is SpanExportResult.SUCCESS))
    except BrokenPipeError:
        pass
    finally:
        exporter.shutdown()  # type: ignore[no-untyped-call]
    return 0


if __name__ == "__main__":
    sys.exit(main())
