"""The event loop's longest stall while many agent calls run at once, per durable log store.

120 concurrent ``Agent.acall`` runs (a tool call, then the final answer) against the test
server (tests/support/openai_server.py, 20 ms latency, in a separate process), each logged to
the store as shipped (durable: every commit synced to disk). Two figures per store:
- the longest single step the loop ran (one callback or task step, timed around
  ``asyncio.Handle._run``): how long the loop was blocked at once (target <= 5 ms with each
  durable store);
- how late a ticker task that wakes every millisecond woke at worst: the loop's latency, which
  also counts the legitimate work of 120 tasks waking together (and the machine's load).

Run: ``uv run python bench/event_loop_stall.py``
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lllm_adapters.logs import open_log_store
from lllm_adapters.openai import AsyncOpenAICaller, OpenAISettings
from lllm_domain import Agent, Function, Prompt
from lllm_domain.ports import LogStore

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # the test server and its starter

from openai_loopback import get_weather, start_server  # noqa: E402

CONCURRENT = 120
REPEATS = 5
PORT = 18733
SYSTEM = Prompt("bench/system", "You are a weather assistant.")
TASK = Prompt(
    "bench/task", "What is the weather in {city}?", functions=(Function.from_callable(get_weather),)
)


class StepTimer:
    """Times every callback the event loop runs and keeps the longest."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._original = asyncio.events.Handle._run

    def __enter__(self) -> StepTimer:
        original = self._original
        timer = self

        def timed(handle: asyncio.events.Handle) -> None:
            start = time.perf_counter()
            original(handle)
            timer.longest = max(timer.longest, time.perf_counter() - start)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]


async def ticker(stop: asyncio.Event, lateness: list[float]) -> None:
    period = 0.001
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(period)
        lateness.append(time.perf_counter() - before - period)


async def batch(store: LogStore | None) -> tuple[float, float, float]:
    settings = OpenAISettings(
        api_key="sk-bench",
        base_url=f"http://127.0.0.1:{PORT}/v1",
        max_connections=100,
        max_keepalive_connections=100,
    )
    async with AsyncOpenAICaller(settings) as caller:
        agent = Agent("bench", SYSTEM, "gpt-4o", caller, log_store=store)

        async def run() -> None:
            await agent.acall(agent.init_dialog(), TASK, {"city": "Paris"})

        await asyncio.gather(*(run() for _ in range(20)))  # warm-up: connections, threads
        stop = asyncio.Event()
        lateness: list[float] = []
        tick = asyncio.create_task(ticker(stop, lateness))
        with StepTimer() as steps:
            start = time.perf_counter()
            await asyncio.gather(*(run() for _ in range(CONCURRENT)))
            wall = time.perf_counter() - start
        stop.set()
        await tick
        return steps.longest, max(lateness), wall


def main() -> None:
    server = start_server(PORT, 0.02)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for log, kind in (("none", None), ("sqlite", "sqlite"), ("file", "localfile")):
                store = None if kind is None else open_log_store(kind, Path(folder) / log)
                runs = [asyncio.run(batch(store)) for _ in range(REPEATS)]
                rows.append(
                    (
                        log,
                        statistics.median(r[0] for r in runs) * 1e3,
                        max(r[0] for r in runs) * 1e3,
                        statistics.median(r[1] for r in runs) * 1e3,
                        statistics.median(r[2] for r in runs) * 1e3,
                    )
                )
    finally:
        server.terminate()
        server.wait()
    print(f"{CONCURRENT} concurrent acalls, 20 ms server; ticker every 1 ms")
    print(
        f"{'log store':<10} {'longest step':>13} {'(worst run)':>12} {'ticker late':>12}"
        f" {'wall':>10}  target (longest step)"
    )
    for log, step, worst, late, wall in rows:
        print(f"{log:<10} {step:>11.2f}ms {worst:>10.2f}ms {late:>10.1f}ms {wall:>8.1f}ms  <=5 ms")


if __name__ == "__main__":
    main()
