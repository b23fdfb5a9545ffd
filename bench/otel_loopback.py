"""The cost of OpenTelemetry tracing on the loopback benchmark: the same agent, traced and
untraced, measured in the same run.

The agent of ``openai_loopback.py`` (one tool, two turns) runs against the test server in a
separate process, with no log store, untraced and traced: :class:`OtelTracer` over the SDK's
tracer provider ``otlp_tracer_provider()`` builds, as ``lllm run --otel`` does: LLLM's light
provider, whose export process sends OTLP/HTTP to a collector in another process
(``tests/support/otlp_collector.py``); ``--sdk`` measures the SDK's provider with its batch
processor and exporter in-process instead (``LLLM_OTEL_RELAY=0``). Message contents are not
captured (the default).

- sequential runs against a zero-latency server, one traced and one untraced run alternating:
  median time per run (target traced <= 1.1x untraced);
- 500 concurrent runs against a 100 ms-latency server: median wall time (target <= 1.1x).

Run: ``uv run python bench/otel_loopback.py [--sdk]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the test servers live in tests/support
sys.path.insert(0, str(ROOT / "bench"))

from lllm_adapters.openai import AsyncOpenAICaller, OpenAICaller  # noqa: E402
from lllm_adapters.tracing import OtelTracer  # noqa: E402
from lllm_domain import Agent, CallLimits  # noqa: E402
from lllm_domain.tracing import Tracer  # noqa: E402
from openai_loopback import SYSTEM, TASK, settings, start_server  # noqa: E402

from tests.support.ports import wait_for_port  # noqa: E402

SEQ_RUNS = 300
CONCURRENT = 500
REPEATS = 5
MODEL = "gpt-4o"
COLLECTOR_PORT = 18733


def start_collector(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.support.otlp_collector", "--port", str(port)], cwd=ROOT
    )
    wait_for_port(port)
    return proc


def make_tracer(sdk: bool) -> tuple[OtelTracer, object]:
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{COLLECTOR_PORT}"
    from lllm_adapters.tracing import otlp_tracer_provider

    provider = otlp_tracer_provider(relay=not sdk)
    return OtelTracer(provider), provider


def sequential(port: int, tracer: Tracer) -> tuple[float, float, float, float]:
    """Median wall and CPU time per run, traced and untraced, alternating one run of each.
    CPU time is the process's (the exporter's thread included): on a shared machine it is
    less at the mercy of the scheduler than wall time."""
    plain_times: list[float] = []
    traced_times: list[float] = []
    plain_cpu: list[float] = []
    traced_cpu: list[float] = []
    with OpenAICaller(settings(port)) as caller:
        plain = Agent("bench", SYSTEM, MODEL, caller, limits=CallLimits())
        traced = Agent("bench", SYSTEM, MODEL, caller, limits=CallLimits(), tracer=tracer)
        for _ in range(20):  # warm-up
            plain.call(plain.init_dialog(), TASK, {"city": "Paris"})
            traced.call(traced.init_dialog(), TASK, {"city": "Paris"})
        for _ in range(SEQ_RUNS * REPEATS):
            cpu, start = time.process_time(), time.perf_counter()
            plain.call(plain.init_dialog(), TASK, {"city": "Paris"})
            plain_times.append(time.perf_counter() - start)
            plain_cpu.append(time.process_time() - cpu)
            cpu, start = time.process_time(), time.perf_counter()
            result = traced.call(traced.init_dialog(), TASK, {"city": "Paris"})
            traced_times.append(time.perf_counter() - start)
            traced_cpu.append(time.process_time() - cpu)
            assert result.content == "The weather in Paris is sunny."
    return (
        statistics.median(traced_times),
        statistics.median(plain_times),
        statistics.median(traced_cpu),
        statistics.median(plain_cpu),
    )


async def concurrent_runs(port: int, tracer: Tracer | None) -> float:
    async with AsyncOpenAICaller(settings(port)) as caller:
        agent = Agent("bench", SYSTEM, MODEL, caller, limits=CallLimits(), tracer=tracer)

        async def run() -> None:
            await agent.acall(agent.init_dialog(), TASK, {"city": "Paris"})

        await asyncio.gather(*(run() for _ in range(100)))
        start = time.perf_counter()
        await asyncio.gather(*(run() for _ in range(CONCURRENT)))
        return time.perf_counter() - start


def concurrent(port: int, tracer: Tracer) -> tuple[float, float]:
    traced_times: list[float] = []
    plain_times: list[float] = []
    for _ in range(REPEATS):
        plain_times.append(asyncio.run(concurrent_runs(port, None)))
        traced_times.append(asyncio.run(concurrent_runs(port, tracer)))
    return statistics.median(traced_times), statistics.median(plain_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sdk", action="store_true", help="the SDK's provider, exporting in-process"
    )
    args = parser.parse_args()
    fast = start_server(18731, 0.0)
    slow = start_server(18732, 0.1)
    collector = start_collector(COLLECTOR_PORT)
    tracer, provider = make_tracer(args.sdk)
    print(f"provider: {type(provider).__name__}")
    try:
        seq_traced, seq_plain, cpu_traced, cpu_plain = sequential(18731, tracer)
        con_traced, con_plain = concurrent(18732, tracer)
    finally:
        provider.shutdown()  # type: ignore[attr-defined]
        for proc in (fast, slow, collector):
            proc.terminate()
            proc.wait()
    rows = [
        ("sequential run, 0 ms server (per run)", seq_traced * 1e3, seq_plain * 1e3, "ms"),
        ("  the same, CPU time (per run)", cpu_traced * 1e3, cpu_plain * 1e3, "ms"),
        (f"{CONCURRENT} concurrent runs, 100 ms server (wall)", con_traced, con_plain, "s"),
    ]
    print(f"{'measure':<48} {'traced':>10} {'untraced':>10} {'ratio':>7} {'target':>7}")
    for name, traced, plain, unit in rows:
        print(
            f"{name:<48} {traced:>8.3f}{unit:>2} {plain:>8.3f}{unit:>2} {traced / plain:>7.2f}"
            f" {'<=1.1':>7}"
        )


if __name__ == "__main__":
    main()
