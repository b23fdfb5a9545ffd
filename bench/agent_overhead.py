"""Framework overhead of the domain core (no network, no logging).

Prints, each the median of several runs:
- overhead per LLM turn of an agent call driven by an instant caller (target <= 50 us);
- fork of a 10 000-message dialog (target <= 100 us);
- memory per text message beyond its content (target <= 600 bytes);
- ``import lllm_domain`` in a fresh interpreter (target <= 80 ms), and its ratio to
  ``import attrs, cattrs, msgspec`` (its only dependencies) measured in the same run.

Run: ``uv run python bench/agent_overhead.py``
"""

from __future__ import annotations

import gc
import statistics
import subprocess
import sys
import time
import tracemalloc

from lllm_domain import (
    Agent,
    CallLimits,
    Dialog,
    Function,
    FunctionCall,
    LLMRequest,
    Message,
    Modality,
    Prompt,
    Role,
)
from lllm_domain.testing import FakeClock

TURNS = 10  # tool-call turns before the final answer


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class InstantCaller:
    """Returns prebuilt replies: the cost measured is the framework's, not the caller's."""

    def __init__(self, replies: list[Message]) -> None:
        self.replies = replies
        self.i = 0

    def call(self, request: LLMRequest) -> Message:
        reply = self.replies[self.i % len(self.replies)]
        self.i += 1
        return reply


def per_turn_overhead(runs: int = 2000) -> float:
    tool = Function.from_callable(add)
    system = Prompt("bench/system", "You add numbers.")
    task = Prompt(
        "bench/task",
        "Add {a} and {b}.",
        functions=(tool,),
        xml_tags=("answer",),
        required_xml_tags=("answer",),
    )
    replies = [
        Message(
            Role.TOOL_CALL,
            "",
            "bench",
            modality=Modality.FUNCTION_CALL,
            function_calls=(FunctionCall(f"c{i}", "add", {"a": i, "b": 1}),),
        )
        for i in range(TURNS)
    ] + [Message(Role.ASSISTANT, "<answer>5</answer>", "bench")]
    caller = InstantCaller(replies)
    agent = Agent(
        "bench",
        system,
        "bench-model",
        caller,
        clock=FakeClock(),
        limits=CallLimits(max_interrupt_times=TURNS + 1),
    )
    samples = []
    for _ in range(runs):
        caller.i = 0
        dialog = agent.init_dialog()
        t0 = time.perf_counter()
        agent.call(dialog, task, {"a": 2, "b": 3})
        samples.append((time.perf_counter() - t0) / (TURNS + 1))
    return statistics.median(samples)


def fork_time(size: int = 10_000, runs: int = 200) -> float:
    dialog = Dialog([Message(Role.USER, f"message {i}", "user") for i in range(size)])
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        child = dialog.fork()
        samples.append(time.perf_counter() - t0)
        assert child[0] is dialog[0]
    return statistics.median(samples)


def memory_per_message(n: int = 20_000) -> float:
    contents = [f"content number {i}" for i in range(n)]
    dialog = Dialog()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for c in contents:
        dialog.append(Message(Role.USER, c, "user"))
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / n


def import_time(module: str = "lllm_domain", runs: int = 9) -> float:
    """Median seconds to import ``module`` in a fresh interpreter."""
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    samples = [
        float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(runs)
    ]
    return statistics.median(samples)


def import_times(runs: int = 9) -> tuple[float, float]:
    """Import times of ``lllm_domain`` and of its dependencies ``attrs, cattrs, msgspec``,
    interleaved run by run so both see the same machine load."""
    ours: list[float] = []
    deps: list[float] = []
    for _ in range(runs):
        ours.append(import_time("lllm_domain", runs=1))
        deps.append(import_time("attrs, cattrs, msgspec", runs=1))
    return statistics.median(ours), statistics.median(deps)


def main() -> None:
    domain_import, deps_import = import_times()
    rows: list[tuple[str, float, str, float | None]] = [
        ("overhead per LLM turn", per_turn_overhead() * 1e6, "us", 50),
        ("fork of a 10 000-message dialog", fork_time() * 1e6, "us", 100),
        ("memory per text message beyond content", memory_per_message(), "bytes", 600),
        ("import lllm_domain (fresh interpreter)", domain_import * 1e3, "ms", 80),
        ("import attrs, cattrs, msgspec (same run)", deps_import * 1e3, "ms", None),
        ("ratio lllm_domain / its dependencies", domain_import / deps_import, "x", None),
    ]
    print(f"{'figure (median)':<42} {'value':>10} {'unit':<6} {'target':>8}  ok")
    for name, value, unit, target in rows:
        if target is None:
            print(f"{name:<42} {value:>10.2f} {unit:<6} {'-':>8}  -")
            continue
        ok = "yes" if value <= target else "NO"
        print(f"{name:<42} {value:>10.1f} {unit:<6} {'<= ' + str(target):>8}  {ok}")


if __name__ == "__main__":
    main()
