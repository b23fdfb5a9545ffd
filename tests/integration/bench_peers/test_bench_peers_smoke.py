"""Smoke test for bench/peers: the scripted server, the LLLM and raw implementations, the
worker and the network guard (no peer framework needed: the bench group stays opt-in)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.openai_server import OpenAIServer, RecordedRequest

PEERS = Path(__file__).resolve().parents[3] / "bench" / "peers"


@pytest.fixture(scope="module")
def peers() -> Iterator[dict[str, ModuleType]]:
    """The bench/peers modules this test needs, imported from their folder."""
    sys.path.insert(0, str(PEERS))
    try:
        import impl_lllm
        import impl_raw
        import peer_task
        import server

        yield {"lllm": impl_lllm, "raw": impl_raw, "task": peer_task, "server": server}
    finally:
        sys.path.remove(str(PEERS))
        for name in ("impl_lllm", "impl_raw", "peer_task", "server"):
            sys.modules.pop(name, None)  # generic names: leave nothing behind for other tests


@pytest.fixture
def add_server(peers: dict[str, ModuleType]) -> Iterator[OpenAIServer]:
    with OpenAIServer(handler=peers["server"].add_handler) as srv:
        yield srv


def _request(messages: list[dict[str, object]]) -> RecordedRequest:
    body = json.dumps({"model": "gpt-4o", "messages": messages}).encode()
    return RecordedRequest("POST", "/v1/chat/completions", {}, body)


def test_server_asks_for_the_tool_then_answers(peers: dict[str, ModuleType]) -> None:
    def handler(request: RecordedRequest) -> Any:
        reply = peers["server"].add_handler(request)
        return reply if isinstance(reply, dict) else reply.body

    first = handler(_request([{"role": "user", "content": "What is 2 + 3?"}]))
    call = first["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call["name"] == "add"
    assert json.loads(call["arguments"]) == {"a": 2, "b": 3}
    tool = {"role": "tool", "tool_call_id": "call_add_1"}
    done = handler(_request([{"role": "user", "content": "?"}, {**tool, "content": "5"}]))
    assert done["choices"][0]["message"]["content"] == "<answer>5</answer>"
    wrong = handler(_request([{"role": "user", "content": "?"}, {**tool, "content": "6"}]))
    with pytest.raises(AssertionError, match="wrong final answer"):
        peers["task"].check_answer(wrong["choices"][0]["message"]["content"])


@pytest.mark.parametrize("name", ["lllm", "raw"])
def test_sync_and_async_runs_answer_5_and_call_the_tool(
    peers: dict[str, ModuleType], add_server: OpenAIServer, name: str
) -> None:
    impl, task = peers[name], peers["task"]
    before = task.ToolCounter.calls
    run, close = impl.sync_runner(add_server.url)
    try:
        for _ in range(3):
            task.check_answer(run())
    finally:
        close()

    async def concurrent() -> list[str]:
        arun, aclose = impl.async_runner(add_server.url)
        try:
            return list(await asyncio.gather(*(arun() for _ in range(5))))
        finally:
            await aclose()

    for answer in asyncio.run(concurrent()):
        task.check_answer(answer)
    assert task.ToolCounter.calls - before == 8
    assert len(add_server.requests) == 16  # two requests per run


def test_worker_measures_in_a_fresh_interpreter(add_server: OpenAIServer) -> None:
    def worker(*args: str) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, str(PEERS / "worker.py"), "lllm", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    assert worker("seq", add_server.url, "3")["seconds_per_run"] > 0
    conc = worker("conc", add_server.url, "10", "2")
    assert conc["wall"] > 0
    assert conc["peak_rss_kib"] > 0
    assert worker("import")["seconds"] > 0


def test_guard_refuses_anything_off_loopback(peers: dict[str, ModuleType]) -> None:
    lift = peers["task"].forbid_non_loopback()
    try:
        with pytest.raises(socket.gaierror, match="benchmark guard"):
            socket.getaddrinfo("api.openai.com", 443)
        with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="guard"):
            sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never routed, never reached
    finally:
        lift()
