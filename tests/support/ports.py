"""Waiting for a local server's port: free of pytest, so the benchmarks that start the test
servers import neither pytest nor its plugins (which would swell the heap every garbage
collection walks, and so the figures)."""

from __future__ import annotations

import socket
import time


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Block until something listens on 127.0.0.1:``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")
