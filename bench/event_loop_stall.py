"""The event loop's longest stall while many agent calls run at once, per durable log store.

120 concurrent ``Agent.acall`` runs (a tool call, then the final answer) against the test
server (tests/support/openai_server.py, 20 ms latency, in a separate process), each logged to
the store as shipped (durable: every commit synced to disk), and the raw httpx2 loop doing the
same two requests in the same process, for reference, one batch of each in turn. Per store,
the median and the worst of five runs of:
- the longest single step the loop ran (one callback or task step, timed around
  ``asyncio.Handle._run``): how long the loop was blocked at once (target <= 5 ms with each
  durable store);
- the longest step less the time CPython's garbage collector ran inside it: what the code
  itself blocked (the collector's full passes walk every object of the process, so their length
  is the heap's, not the caller's; see docs/performance.md);
- the collector's longest pause (the whole run, timed with ``gc.callbacks``);
- how late a ticker task that wakes every millisecond woke at worst: the loop's latency, which
  also counts the legitimate work of 120 tasks waking together (and the machine's load).

``--freeze`` first moves the objects made by the imports out of the collector's reach
(``gc.freeze()``), as docs/performance.md suggests for processes that run many calls at once.

Run: ``uv run python bench/event_loop_stall.py [--freeze]``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple

import httpx2
from lllm_adapters.logs import open_log_store
from lllm_adapters.openai import AsyncOpenAICaller, OpenAISettings
from lllm_domain import Agent, Function, Prompt
from lllm_domain.ports import LogStore

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # the test server and its starter

from openai_loopback import get_weather, raw_async_run, start_server  # noqa: E402

CONCURRENT = 120
REPEATS = 5
PORT = 18733
SYSTEM = Prompt("bench/system", "You are a weather assistant.")
TASK = Prompt(
    "bench/task", "What is the weather in {city}?", functions=(Function.from_callable(get_weather),)
)


class Stalls(NamedTuple):
    """One run's figures, in seconds."""

    step: float
    """The longest step the loop ran."""
    step_outside_gc: float
    """The longest step less the collector's time inside it."""
    gc_pause: float
    """The collector's longest pause."""
    late: float
    """The ticker's worst lateness."""
    wall: float


class StepTimer:
    """Times every callback the event loop runs, and the garbage collector's passes."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.longest_outside_gc = 0.0
        self.longest_gc = 0.0
        self._gc_total = 0.0
        self._gc_start = 0.0
        self._original = asyncio.events.Handle._run

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
            return
        pause = time.perf_counter() - self._gc_start
        self._gc_total += pause
        self.longest_gc = max(self.longest_gc, pause)

    def __enter__(self) -> StepTimer:
        original = self._original
        timer = self

        def timed(handle: asyncio.events.Handle) -> None:
            gc_before = timer._gc_total
            start = time.perf_counter()
            original(handle)
            step = time.perf_counter() - start
            timer.longest = max(timer.longest, step)
            outside = step - (timer._gc_total - gc_before)
            timer.longest_outside_gc = max(timer.longest_outside_gc, outside)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]
        gc.callbacks.remove(self._on_gc)


async def ticker(stop: asyncio.Event, lateness: list[float]) -> None:
    period = 0.001
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(period)
        lateness.append(time.perf_counter() - before - period)


async def measure(run: Callable[[], Awaitable[object]]) -> Stalls:
    """Warm up with 20 runs (connections, threads), then time ``CONCURRENT`` runs at once,
    starting from an empty collector (so that a full pass owed to an earlier batch's leftovers
    does not land in this one)."""
    await asyncio.gather(*(run() for _ in range(20)))
    gc.collect()
    stop = asyncio.Event()
    lateness: list[float] = []
    tick = asyncio.create_task(ticker(stop, lateness))
    with StepTimer() as steps:
        start = time.perf_counter()
        await asyncio.gather(*(run() for _ in range(CONCURRENT)))
        wall = time.perf_counter() - start
    stop.set()
    await tick
    return Stalls(steps.longest, steps.longest_outside_gc, steps.longest_gc, max(lateness), wall)


def settings() -> OpenAISettings:
    return OpenAISettings(
        api_key="sk-bench",
        base_url=f"http://127.0.0.1:{PORT}/v1",
        max_connections=100,
        max_keepalive_connections=100,
    )


async def agent_batch(store: LogStore | None) -> Stalls:
    async with AsyncOpenAICaller(settings()) as caller:
        agent = Agent("bench", SYSTEM, "gpt-4o", caller, log_store=store)

        async def run() -> None:
            await agent.acall(agent.init_dialog(), TASK, {"city": "Paris"})

        return await measure(run)


async def raw_batch() -> Stalls:
    url = f"http://127.0.0.1:{PORT}/v1/chat/completions"
    limits = httpx2.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx2.AsyncClient(limits=limits, timeout=60) as client:
        return await measure(lambda: raw_async_run(client, url))


def cell(values: list[float]) -> str:
    """The median and (the worst) of ``values`` seconds, in ms."""
    return f"{statistics.median(values) * 1e3:6.2f} ({max(values) * 1e3:6.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--freeze", action="store_true", help="gc.freeze() after the imports (see the docstring)"
    )
    freeze = parser.parse_args().freeze
    if freeze:
        gc.collect()
        gc.freeze()
    server = start_server(PORT, 0.02)
    runs: dict[str, list[Stalls]] = {"raw httpx2": [], "none": [], "sqlite": [], "file": []}
    try:
        with tempfile.TemporaryDirectory() as folder:
            stores = {
                "none": None,
                "sqlite": open_log_store("sqlite", Path(folder) / "sqlite"),
                "file": open_log_store("localfile", Path(folder) / "file"),
            }
            # One batch of each in turn, so that the machine's drift hits them all alike.
            for _ in range(REPEATS):
                runs["raw httpx2"].append(asyncio.run(raw_batch()))
                for log, store in stores.items():
                    runs[log].append(asyncio.run(agent_batch(store)))
    finally:
        server.terminate()
        server.wait()
    frozen = " (imports frozen)" if freeze else ""
    print(f"{CONCURRENT} concurrent acalls, 20 ms server; ticker every 1 ms{frozen}")
    print("median of 5 runs (worst run) in ms; target: the longest step <= 5 ms")
    print(
        f"{'log store':<11} {'longest step':>16} {'outside the GC':>16} {'GC pause':>16}"
        f" {'ticker late':>12} {'wall':>8}"
    )
    for log, stalls in runs.items():
        print(
            f"{log:<11} {cell([r.step for r in stalls]):>16}"
            f" {cell([r.step_outside_gc for r in stalls]):>16}"
            f" {cell([r.gc_pause for r in stalls]):>16}"
            f" {statistics.median(r.late for r in stalls) * 1e3:>10.1f}ms"
            f" {statistics.median(r.wall for r in stalls) * 1e3:>6.0f}ms"
        )


if __name__ == "__main__":
    main()
