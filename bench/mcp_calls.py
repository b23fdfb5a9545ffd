"""Cost of an MCP tool call through LLLM's client, over stdio and streamable HTTP on 127.0.0.1.

For each transport, against the same real server (tests/support/mcp_servers.py, ``echo``):
- the MCP SDK alone: ``ClientSession.call_tool`` on an open session (the floor);
- LLLM sync: ``Function.invoke`` of the MCP tool (schema check, the hop to the client's loop
  thread, the per-call timeout, result conversion);
- LLLM async: ``await Function.ainvoke`` from another event loop;
- the added latency per call: LLLM minus the SDK alone (medians).

Then the time from a hanging call (a server that never answers, timeout 0.5 s) to the error
result the model reads, and how long past the timeout that is.

Each figure is the median of ``--calls`` calls (default 200), best of ``--rounds`` interleaved
rounds (default 3): the machine the tests run on is shared and noisy.

Run: ``uv run python bench/mcp_calls.py``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx2
import structlog
from lllm_adapters.mcp import MCPClient
from lllm_domain import MCPServerConfig
from lllm_domain.function import Function
from lllm_domain.message import FunctionCall
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.support.mcp_servers import HttpServer, stdio_config

HANG_TIMEOUT = 0.5


def median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1e3


async def sdk_alone(config: MCPServerConfig, calls: int) -> list[float]:
    """Per-call times of the SDK's own session (opened once, like LLLM's)."""
    if config.command is not None:
        transport: Any = stdio_client(
            StdioServerParameters(command=config.command, args=list(config.args), cwd=config.cwd)
        )
    else:
        assert config.url is not None
        # The same HTTP client settings LLLM's connection uses.
        client = httpx2.AsyncClient(timeout=httpx2.Timeout(config.connect_timeout, read=None))
        transport = streamable_http_client(config.url, http_client=client)
    times = []
    async with transport as streams, ClientSession(*streams) as session:
        await session.initialize()
        for _ in range(10):
            await session.call_tool("echo", {"text": "hi"})
        for _ in range(calls):
            start = time.perf_counter()
            await session.call_tool("echo", {"text": "hi"})
            times.append(time.perf_counter() - start)
    return times


def lllm_sync(function: Function, calls: int) -> list[float]:
    times = []
    for i in range(calls + 10):
        start = time.perf_counter()
        done = function.invoke(FunctionCall(str(i), "echo", {"text": "hi"}))
        if i >= 10:
            times.append(time.perf_counter() - start)
        assert done.result_text == "hi", done.error
    return times


def lllm_async(client: MCPClient, server: str, calls: int) -> list[float]:
    async def run() -> list[float]:
        echo = {f.name: f for f in await client.source(server).afunctions()}["echo"]
        times = []
        for i in range(calls + 10):
            start = time.perf_counter()
            done = await echo.ainvoke(FunctionCall(str(i), "echo", {"text": "hi"}))
            if i >= 10:
                times.append(time.perf_counter() - start)
            assert done.result_text == "hi", done.error
        return times

    return asyncio.run(run())


def hang_to_error(client: MCPClient, server: str, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        wait = {f.name: f for f in client.source(server).functions()}["wait"]
        client.call_tool(server, "echo", {"text": "warm"})  # the session is open before timing
        start = time.perf_counter()
        done = wait.invoke(FunctionCall(str(i), "wait", {}))
        times.append(time.perf_counter() - start)
        assert done.error is not None and "did not answer" in done.error
    return times


def row(label: str, value: float, unit: str = "ms") -> None:
    print(f"{label:<48} {value:>9.3f} {unit}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hangs", type=int, default=5)
    options = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))

    with HttpServer("good") as good_http, HttpServer("sleepy") as sleepy_http:
        transports = {
            "stdio": (stdio_config("good"), stdio_config("sleepy", timeout=HANG_TIMEOUT)),
            "http": (good_http.config(), sleepy_http.config(timeout=HANG_TIMEOUT)),
        }
        print(
            f"MCP tool call 'echo': per measurement the median of {options.calls} calls, best "
            f"of {options.rounds} interleaved rounds (a shared 2-core machine is noisy)"
        )
        for name, (good, sleepy) in transports.items():
            floors, syncs, asyncs = [], [], []
            with MCPClient({"good": good, "sleepy": sleepy}) as client:
                client.start()
                echo = {f.name: f for f in client.source("good").functions()}["echo"]
                for _ in range(options.rounds):
                    floors.append(median_ms(asyncio.run(sdk_alone(good, options.calls))))
                    syncs.append(median_ms(lllm_sync(echo, options.calls)))
                    asyncs.append(median_ms(lllm_async(client, "good", options.calls)))
                hang = hang_to_error(client, "sleepy", options.hangs)
            floor, sync, async_ = min(floors), min(syncs), min(asyncs)
            print(f"-- {name}")
            row("MCP SDK alone (ClientSession.call_tool)", floor)
            row("LLLM sync  (Function.invoke)", sync)
            row("LLLM async (await Function.ainvoke)", async_)
            row("added latency per call, sync", sync - floor)
            row("added latency per call, async", async_ - floor)
            row(f"hanging call -> error result (timeout {HANG_TIMEOUT:g} s)", median_ms(hang))
            row("  of which past the timeout", median_ms(hang) - HANG_TIMEOUT * 1e3)


if __name__ == "__main__":
    main()
