"""A stand-in proxy runtime for sandbox tests, and a tiny local HTTP API for it to call.

The real runtime (``lllm_adapters.proxies.runtime_from_settings``) is built elsewhere; this stub
has the same shape — ``runtime_from_settings(settings) -> object with .call(path, params)`` — so
the init cell's wiring can be tested by naming it as the session's ``proxy_runtime_factory``.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STUB_FACTORY = "tests.support.sandbox_proxy_stub:runtime_from_settings"
"""The ``module:function`` path to put in ``SessionMetadata.proxy_runtime_factory``."""


class StubRuntime:
    """Calls ``<base_url>/<path>?<params>`` and returns the decoded JSON."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.settings = dict(settings)
        self.base_url = str(settings["base_url"]).rstrip("/")

    def call(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET the endpoint at ``path``."""
        query = urllib.parse.urlencode(dict(params or {}))
        with urllib.request.urlopen(f"{self.base_url}/{path}?{query}", timeout=10) as resp:
            return json.loads(resp.read())


def runtime_from_settings(settings: Mapping[str, Any]) -> StubRuntime:
    """Build the stub runtime (same signature as the real factory)."""
    return StubRuntime(settings)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        body = json.dumps({"path": url.path, "params": params, "price": 101.5}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return


@contextmanager
def local_api() -> Iterator[str]:
    """Serve a JSON echo API on 127.0.0.1; yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
