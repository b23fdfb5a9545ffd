"""What every implementation shares: the task, the tool, the answer check, the pool size and a
guard that refuses any connection off the loopback interface."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from typing import Any

MODEL = "gpt-4o"
API_KEY = "sk-bench-not-a-real-key"
POOL = 100
"""Connections in every implementation's pooled client (max and keep-alive)."""
SYSTEM = "You are a calculator. Use the add tool, then give the result as <answer>N</answer>."
TASK = "What is 2 + 3?"
EXPECTED = "5"

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two integers.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        },
    }
]
"""The tool schema, for the loops written by hand."""

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)


class ToolCounter:
    """How many times ``add`` ran in this process (each run must call it exactly once)."""

    calls = 0


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first integer.
        b: The second integer.
    """
    ToolCounter.calls += 1
    return a + b


def check_answer(text: Any) -> None:
    """Raise unless ``text`` holds ``<answer>5</answer>``."""
    match = _ANSWER.search(str(text))
    if match is None or match.group(1).strip() != EXPECTED:
        raise AssertionError(f"wrong final answer: {text!r}")


_LOCAL = {"127.0.0.1", "localhost", "::1"}


def forbid_non_loopback() -> Callable[[], None]:
    """Make every connection or name lookup off 127.0.0.1 fail loudly (telemetry, tracing,
    model-metadata fetches...): the benchmark must never reach the internet. Returns a function
    that lifts the guard."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def allowed(address: Any) -> bool:
        if isinstance(address, tuple):
            return str(address[0]) in _LOCAL
        return True  # AF_UNIX paths (asyncio self-pipes and the like)

    def connect(self: socket.socket, address: Any) -> None:
        if not allowed(address):
            raise ConnectionRefusedError(f"benchmark guard: refusing to connect to {address!r}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not allowed(address):
            raise ConnectionRefusedError(f"benchmark guard: refusing to connect to {address!r}")
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and str(name) not in _LOCAL:
            raise socket.gaierror(f"benchmark guard: refusing to resolve {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo

    def lift() -> None:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = real_getaddrinfo

    return lift
