"""A real HTTP API on 127.0.0.1 for proxy tests: routes answer canned JSON, every request is
recorded, and faults (status codes) can be queued per path."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Handler = Callable[[dict[str, Any]], Any]


class FakeApi:
    """Routes (path → JSON value or function of the request), recorded requests, faults."""

    def __init__(self) -> None:
        self.routes: dict[str, Any] = {}
        self.requests: list[dict[str, Any]] = []
        self.faults: dict[str, list[int]] = {}
        self.base_url = ""
        self._lock = threading.Lock()

    def count(self, path: str) -> int:
        """How many requests reached ``path``."""
        return sum(1 for r in self.requests if r["path"] == path)

    def handle(
        self, method: str, raw_path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        parts = urlsplit(raw_path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        request = {
            "method": method,
            "path": parts.path,
            "query": query,
            "headers": headers,
            "json": json.loads(body) if body else None,
            "raw": raw_path,
        }
        with self._lock:
            self.requests.append(request)
            queued = self.faults.get(parts.path)
            if queued:
                return queued.pop(0), json.dumps({"error": "injected"}).encode()
        route = self.routes.get(parts.path)
        if route is None:
            return 404, json.dumps({"error": f"no route {parts.path}"}).encode()
        value = route(request) if callable(route) else route
        if isinstance(value, tuple):
            status, payload = value
            return status, json.dumps(payload).encode()
        return 200, json.dumps(value).encode()


@contextmanager
def serve(api: FakeApi) -> Iterator[FakeApi]:
    """Run ``api`` on a free port of 127.0.0.1 for the duration of the block."""

    class _Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload = api.handle(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class InstantClock:
    """A clock whose sleeps return at once and are recorded."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self._now = 0.0

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self._now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
