"""Anthropic caller overhead against a local Messages API server, versus a hand-written raw
httpx2 Messages loop in the same run.

An agent with one tool does two turns (a tool_use, then the final answer) against the fake
Messages server (tests/support/anthropic_server.py) running in a separate process; the raw loop
sends the same two requests with httpx2 and picks the same fields out of the replies:
- sequential runs against a zero-latency server: median time per run (target <= 1.35x raw);
- 500 concurrent runs against a 100 ms-latency server with 100 pooled connections: median
  wall time (target <= 1.2x raw).
``--log sqlite`` also logs every turn to the durable SQLite store, as users run it.

Run: ``uv run python bench/anthropic_loopback.py [--log none|sqlite]``
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2
from lllm_adapters.anthropic import AnthropicCaller, AnthropicSettings, AsyncAnthropicCaller
from lllm_adapters.logs import open_log_store
from lllm_domain import Agent, CallLimits, Function, Prompt
from lllm_domain.ports import LogStore

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test server lives in tests/support

from tests.support.ports import wait_for_port  # noqa: E402

SEQ_RUNS = 300
CONCURRENT = 500
REPEATS = 5
MODEL = "claude-sonnet-4-5"
HEADERS = {"x-api-key": "sk-ant-bench", "anthropic-version": "2023-06-01"}
TARGETS = (1.35, 1.2)


def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city name.
    """
    return f"sunny in {city}"


SYSTEM = Prompt("bench/system", "You are a weather assistant.")
TASK = Prompt(
    "bench/task", "What is the weather in {city}?", functions=(Function.from_callable(get_weather),)
)
TOOL = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


def free_port() -> int:
    """A port nothing listens on (fixed ports collide with other benches on a shared box)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(port: int, latency: float) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.anthropic_server",
            "--port",
            str(port),
            "--latency",
            str(latency),
        ],
        cwd=ROOT,
    )
    wait_for_port(port)
    return proc


def settings(port: int) -> AnthropicSettings:
    return AnthropicSettings(
        api_key="sk-ant-bench",
        base_url=f"http://127.0.0.1:{port}",
        max_connections=100,
        max_keepalive_connections=100,
    )


def first_body() -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 8192,
        "system": [{"type": "text", "text": "You are a weather assistant."}],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "What is the weather in Paris?"}],
            }
        ],
        "tools": [TOOL],
    }


def second_body(first: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
    [use] = [b for b in reply["content"] if b["type"] == "tool_use"]
    result = get_weather(**use["input"])
    messages = [
        *first["messages"],
        {"role": "assistant", "content": reply["content"]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use["id"], "content": result}],
        },
    ]
    return {**first, "messages": messages}


def final_text(reply: dict[str, Any]) -> str:
    return "".join(b["text"] for b in reply["content"] if b["type"] == "text")


# -- sequential ------------------------------------------------------------------------------


def raw_sync_run(client: httpx2.Client, url: str) -> str:
    body = first_body()
    reply = client.post(url, json=body, headers=HEADERS).json()
    final = client.post(url, json=second_body(body, reply), headers=HEADERS).json()
    return final_text(final)


def sequential(port: int, store: LogStore | None) -> tuple[float, float]:
    """Median time per run of LLLM and of the raw loop, alternating one run of each so that
    the machine's drift hits both alike."""
    url = f"http://127.0.0.1:{port}/v1/messages"
    agent_times: list[float] = []
    raw_times: list[float] = []
    with AnthropicCaller(settings(port)) as caller, httpx2.Client() as client:
        agent = Agent("bench", SYSTEM, MODEL, caller, limits=CallLimits(), log_store=store)
        for _ in range(20):  # warm-up
            raw_sync_run(client, url)
            agent.call(agent.init_dialog(), TASK, {"city": "Paris"})
        for _ in range(SEQ_RUNS * REPEATS):
            start = time.perf_counter()
            raw_sync_run(client, url)
            raw_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = agent.call(agent.init_dialog(), TASK, {"city": "Paris"})
            agent_times.append(time.perf_counter() - start)
            assert result.content == "The weather in Paris is sunny."
    return statistics.median(agent_times), statistics.median(raw_times)


# -- concurrent ------------------------------------------------------------------------------


async def raw_async_run(client: httpx2.AsyncClient, url: str) -> str:
    body = first_body()
    reply = (await client.post(url, json=body, headers=HEADERS)).json()
    final = (await client.post(url, json=second_body(body, reply), headers=HEADERS)).json()
    return final_text(final)


async def concurrent_raw(port: int) -> float:
    url = f"http://127.0.0.1:{port}/v1/messages"
    limits = httpx2.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx2.AsyncClient(limits=limits, timeout=60) as client:
        await asyncio.gather(*(raw_async_run(client, url) for _ in range(100)))
        start = time.perf_counter()
        await asyncio.gather(*(raw_async_run(client, url) for _ in range(CONCURRENT)))
        return time.perf_counter() - start


async def concurrent_agent(port: int, store: LogStore | None) -> float:
    async with AsyncAnthropicCaller(settings(port)) as caller:
        agent = Agent("bench", SYSTEM, MODEL, caller, limits=CallLimits(), log_store=store)

        async def run() -> None:
            await agent.acall(agent.init_dialog(), TASK, {"city": "Paris"})

        await asyncio.gather(*(run() for _ in range(100)))
        start = time.perf_counter()
        await asyncio.gather(*(run() for _ in range(CONCURRENT)))
        return time.perf_counter() - start


def concurrent(port: int, store: LogStore | None) -> tuple[float, float]:
    agent_times: list[float] = []
    raw_times: list[float] = []
    for _ in range(REPEATS):
        raw_times.append(asyncio.run(concurrent_raw(port)))
        agent_times.append(asyncio.run(concurrent_agent(port, store)))
    return statistics.median(agent_times), statistics.median(raw_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log", choices=["none", "sqlite"], default="none")
    log = parser.parse_args().log
    fast_port, slow_port = free_port(), free_port()
    fast = start_server(fast_port, 0.0)
    slow = start_server(slow_port, 0.1)
    try:
        with tempfile.TemporaryDirectory() as folder:
            store = None if log == "none" else open_log_store("sqlite", Path(folder))
            seq_agent, seq_raw = sequential(fast_port, store)
            con_agent, con_raw = concurrent(slow_port, store)
    finally:
        fast.terminate()
        slow.terminate()
        fast.wait()
        slow.wait()
    rows = [
        (f"sequential run, 0 ms server, log {log} (per run)", seq_agent * 1e3, seq_raw * 1e3, "ms"),
        (f"{CONCURRENT} concurrent runs, 100 ms server, log {log} (wall)", con_agent, con_raw, "s"),
    ]
    print(f"{'measure':<58} {'lllm':>10} {'raw httpx2':>11} {'ratio':>7} {'target':>7}")
    for (name, ours, raw, unit), target in zip(rows, TARGETS, strict=True):
        print(
            f"{name:<58} {ours:>8.3f}{unit:>2} {raw:>9.3f}{unit:>2} {ours / raw:>7.2f}"
            f" {'<=' + str(target):>7}"
        )


if __name__ == "__main__":
    main()
