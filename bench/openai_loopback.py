"""OpenAI caller overhead against a local server, versus a hand-written raw httpx2 loop.

An agent with one tool does two turns (a tool call, then the final answer) against the test
server (tests/support/openai_server.py) running in a separate process:
- sequential runs against a zero-latency server: median time per run (target <= 1.35x raw);
- 500 concurrent runs against a 100 ms-latency server with 100 pooled connections: median
  wall time (target <= 1.2x raw).

Run: ``uv run python bench/openai_loopback.py``
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2
from lllm_adapters.openai import AsyncOpenAICaller, OpenAICaller, OpenAISettings
from lllm_domain import Agent, CallLimits, Function, Prompt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test server lives in tests/support

from tests.support.openai_server import wait_for_port  # noqa: E402

SEQ_RUNS = 300
CONCURRENT = 500
REPEATS = 5
MODEL = "gpt-4o"


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
TOOL_SCHEMA = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
        "strict": False,
    },
}


def start_server(port: int, latency: float) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.openai_server",
            "--port",
            str(port),
            "--latency",
            str(latency),
        ],
        cwd=ROOT,
    )
    wait_for_port(port)
    return proc


def settings(port: int) -> OpenAISettings:
    return OpenAISettings(
        api_key="sk-bench",
        base_url=f"http://127.0.0.1:{port}/v1",
        max_connections=100,
        max_keepalive_connections=100,
    )


def first_body() -> dict[str, object]:
    return {
        "model": "gpt-4o-2024-08-06",
        "messages": [
            {"role": "system", "content": "You are a weather assistant."},
            {"role": "user", "content": "What is the weather in Paris?"},
        ],
        "tools": [TOOL_SCHEMA],
    }


def second_body(first: dict[str, object], reply: dict[str, object]) -> dict[str, object]:
    msg = reply["choices"][0]["message"]  # type: ignore[index]
    tc = msg["tool_calls"][0]
    args = json.loads(tc["function"]["arguments"])
    result = get_weather(**args)
    messages = [
        *first["messages"],  # type: ignore[misc]
        {"role": "assistant", "content": None, "tool_calls": msg["tool_calls"]},
        {"role": "tool", "tool_call_id": tc["id"], "content": result},
    ]
    return {**first, "messages": messages}


# -- sequential ------------------------------------------------------------------------------


def raw_sync_run(client: httpx2.Client, url: str) -> str:
    body = first_body()
    reply = client.post(url, json=body, headers={"authorization": "Bearer sk-bench"}).json()
    final = client.post(
        url, json=second_body(body, reply), headers={"authorization": "Bearer sk-bench"}
    ).json()
    content: str = final["choices"][0]["message"]["content"]
    return content


def sequential(port: int) -> tuple[float, float]:
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    agent_times: list[float] = []
    raw_times: list[float] = []
    with OpenAICaller(settings(port)) as caller, httpx2.Client() as client:
        agent = Agent("bench", SYSTEM, MODEL, caller, limits=CallLimits())
        for _ in range(20):  # warm-up
            raw_sync_run(client, url)
            agent.call(agent.init_dialog(), TASK, {"city": "Paris"})
        for _ in range(REPEATS):
            start = time.perf_counter()
            for _ in range(SEQ_RUNS):
                raw_sync_run(client, url)
            raw_times.append((time.perf_counter() - start) / SEQ_RUNS)
            start = time.perf_counter()
            for _ in range(SEQ_RUNS):
                result = agent.call(agent.init_dialog(), TASK, {"city": "Paris"})
            agent_times.append((time.perf_counter() - start) / SEQ_RUNS)
            assert result.content == "The weather in Paris is sunny."
    return statistics.median(agent_times), statistics.median(raw_times)


# -- concurrent ------------------------------------------------------------------------------


async def raw_async_run(client: httpx2.AsyncClient, url: str) -> str:
    body = first_body()
    headers = {"authorization": "Bearer sk-bench"}
    reply = (await client.post(url, json=body, headers=headers)).json()
    final = (await client.post(url, json=second_body(body, reply), headers=headers)).json()
    content: str = final["choices"][0]["message"]["content"]
    return content


async def concurrent_raw(port: int) -> float:
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    limits = httpx2.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx2.AsyncClient(limits=limits, timeout=60) as client:
        await asyncio.gather(*(raw_async_run(client, url) for _ in range(100)))
        start = time.perf_counter()
        await asyncio.gather(*(raw_async_run(client, url) for _ in range(CONCURRENT)))
        return time.perf_counter() - start


async def concurrent_agent(port: int) -> float:
    async with AsyncOpenAICaller(settings(port)) as caller:
        agent = Agent("bench", SYSTEM, MODEL, caller, limits=CallLimits())

        async def run() -> None:
            await agent.acall(agent.init_dialog(), TASK, {"city": "Paris"})

        await asyncio.gather(*(run() for _ in range(100)))
        start = time.perf_counter()
        await asyncio.gather(*(run() for _ in range(CONCURRENT)))
        return time.perf_counter() - start


def concurrent(port: int) -> tuple[float, float]:
    agent_times: list[float] = []
    raw_times: list[float] = []
    for _ in range(REPEATS):
        raw_times.append(asyncio.run(concurrent_raw(port)))
        agent_times.append(asyncio.run(concurrent_agent(port)))
    return statistics.median(agent_times), statistics.median(raw_times)


def main() -> None:
    fast = start_server(18731, 0.0)
    slow = start_server(18732, 0.1)
    try:
        seq_agent, seq_raw = sequential(18731)
        con_agent, con_raw = concurrent(18732)
    finally:
        fast.terminate()
        slow.terminate()
        fast.wait()
        slow.wait()
    rows = [
        ("sequential run, 0 ms server (per run)", seq_agent * 1e3, seq_raw * 1e3, 1.35, "ms"),
        (f"{CONCURRENT} concurrent runs, 100 ms server (wall)", con_agent, con_raw, 1.2, "s"),
    ]
    print(f"{'measure':<44} {'lllm':>10} {'raw httpx2':>11} {'ratio':>7} {'target':>7}")
    for name, ours, raw, target, unit in rows:
        print(
            f"{name:<44} {ours:>8.3f}{unit:>2} {raw:>9.3f}{unit:>2} {ours / raw:>7.2f}"
            f" {'<=' + str(target):>7}"
        )


if __name__ == "__main__":
    main()
