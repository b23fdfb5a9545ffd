"""A minimal OTLP/HTTP trace collector on 127.0.0.1: it accepts ``POST /v1/traces`` (protobuf)
and keeps the decoded spans, so tests check what an exporter really sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(v) for v in any_value.array_value.values)
    return getattr(any_value, kind) if kind else None


class Collector:
    """What reached the collector: raw bodies and flattened spans."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        self.endpoint = ""
        self._lock = threading.Lock()

    def receive(self, path: str, body: bytes) -> None:
        with self._lock:
            self.paths.append(path)
            self.bodies.append(body)

    def spans(self) -> list[dict[str, Any]]:
        """Every received span as ``{name, trace_id, span_id, parent_id, attributes,
        resource, events, event_attributes, kind, status, links, scope, scope_version, start,
        end}`` (``kind`` and the status code as OTLP's numbers)."""
        found: list[dict[str, Any]] = []
        for body in list(self.bodies):
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        found.append(
                            {
                                "name": span.name,
                                "scope": scope_spans.scope.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_id": span.parent_span_id.hex(),
                                "attributes": {a.key: _value(a.value) for a in span.attributes},
                                "events": [e.name for e in span.events],
                                "event_attributes": [
                                    {a.key: _value(a.value) for a in e.attributes}
                                    for e in span.events
                                ],
                                "kind": span.kind,
                                "status": (span.status.code, span.status.message),
                                "links": [
                                    (
                                        link.span_id.hex(),
                                        {a.key: _value(a.value) for a in link.attributes},
                                    )
                                    for link in span.links
                                ],
                                "scope_version": scope_spans.scope.version,
                                "start": span.start_time_unix_nano,
                                "end": span.end_time_unix_nano,
                                "resource": resource,
                            }
                        )
        return found


@contextmanager
def otlp_collector() -> Iterator[Collector]:
    """Run a collector on a free port of 127.0.0.1; ``endpoint`` is its base URL (what
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` takes)."""
    collector = Collector()

    class _Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            collector.receive(self.path, self.rfile.read(length))
            payload = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    collector.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="otlp-collector", daemon=True)
    thread.start()
    try:
        yield collector
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def main(argv: list[str] | None = None) -> None:
    """Serve a collector on ``--port`` until interrupted, counting spans (for benchmarks)."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description="A local OTLP/HTTP trace collector")
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args(argv).port

    class _Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            payload = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        time.sleep(0)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
