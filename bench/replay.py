"""Recording size and replay load time: 1 000 turns as one dialog and as 1 000 one-turn dialogs.

Run: uv run python bench/replay.py

An agent (scripted caller, no model) is wrapped in a :class:`RecordingCaller` that records to the
durable SQLite store (``lllm_adapters.logs.SQLiteLogStore``, as shipped); the agent itself logs
nothing, so the database holds only the recording. For each shape the script prints the size of
the database on disk, the time to load it for replay (``ReplayCaller.from_store`` on a freshly
opened store; wall and CPU time, the latter less disturbed by other work on a shared machine),
the time to record it (every record a durable commit), and the time to replay the whole run
through the loaded caller; then the ratios long/short. Figures are medians of several runs.
Targets: load <= 20 ms for either shape; the long dialog within 2x the short ones.
"""

from __future__ import annotations

import gc
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lllm_adapters.logs import SQLiteLogStore
from lllm_domain.agent import Agent
from lllm_domain.dialog import Dialog
from lllm_domain.recording import RecordingCaller, ReplayCaller
from lllm_domain.request import LLMRequest
from lllm_domain.testing import FakeClock, ScriptedCaller

TURNS = 1000
RUNS = 3
LOADS = 15
SYSTEM = "You are a careful research assistant. Answer briefly and cite your sources."


def _question(i: int) -> str:
    return f"Question {i}: what is {i} plus {i + 1}, and why?"


def _answer(request: LLMRequest) -> str:
    return f"The answer to request {request.turn} is {request.turn * 2 + 1}."


def _agent(caller: RecordingCaller | ReplayCaller) -> Agent:
    return Agent("bench", SYSTEM, model="scripted", caller=caller, clock=FakeClock())


def _long(agent: Agent, session: str) -> list[Dialog]:
    dialog = agent.init_dialog(session=session)
    for i in range(TURNS):
        agent.call(dialog, _question(i))
    return [dialog]


def _short(agent: Agent, session: str) -> list[Dialog]:
    dialogs = []
    for i in range(TURNS):
        dialog = agent.init_dialog(session=session)
        agent.call(dialog, _question(i))
        dialogs.append(dialog)
    return dialogs


def _transcripts(dialogs: list[Dialog]) -> list[list[str]]:
    return [[m.content for m in d.messages] for d in dialogs]


def measure(run: Callable[[Agent, str], list[Dialog]]) -> dict[str, float]:
    """Bytes on disk, load ms, record s and replay s of one recorded run (one sample)."""
    root = Path(tempfile.mkdtemp(prefix="lllm-bench-replay-"))
    try:
        path = root / "logs.sqlite3"
        store = SQLiteLogStore(path)
        recorder = RecordingCaller(ScriptedCaller(respond=_answer), store, session="rec")
        t0 = time.perf_counter()
        recorded = _transcripts(run(_agent(recorder), "rec"))
        record_s = time.perf_counter() - t0
        store.close()
        size = sum(p.stat().st_size for p in root.iterdir() if p.is_file())
        # The scripted caller keeps every request: drop them so that the garbage collector's
        # passes during the loads do not walk the recording run's leftovers.
        del recorder
        gc.collect()

        loads, cpu = [], []
        replay: ReplayCaller | None = None
        for _ in range(LOADS):
            fresh = SQLiteLogStore(path)
            t0, c0 = time.perf_counter(), time.process_time()
            replay = ReplayCaller.from_store(fresh, "rec")
            loads.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            fresh.close()
        assert replay is not None and replay.remaining == TURNS

        t0 = time.perf_counter()
        replayed = _transcripts(run(_agent(replay), "replay"))
        replay_s = time.perf_counter() - t0
        assert replay.remaining == 0
        assert replayed == recorded
        return {
            "bytes": float(size),
            "load_ms": statistics.median(loads),
            "load_cpu_ms": statistics.median(cpu),
            "record_s": record_s,
            "replay_s": replay_s,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _median(run: Callable[[Agent, str], list[Dialog]]) -> dict[str, float]:
    samples = [measure(run) for _ in range(RUNS)]
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def main() -> None:
    long, short = _median(_long), _median(_short)
    header = (
        f"{'recording (SQLite, durable)':30} {'size':>9} {'load':>9} {'load CPU':>9} "
        f"{'record':>8} {'replay':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, row in (
        (f"1 dialog of {TURNS:,} turns", long),
        (f"{TURNS:,} dialogs of 1 turn", short),
    ):
        print(
            f"{label:30} {row['bytes'] / 1e6:>7.2f}MB {row['load_ms']:>7.1f}ms "
            f"{row['load_cpu_ms']:>7.1f}ms {row['record_s']:>7.2f}s {row['replay_s']:>7.2f}s"
        )
    ratio = {key: long[key] / short[key] for key in long}
    print(
        f"{'ratio long/short':30} {ratio['bytes']:>8.2f}x {ratio['load_ms']:>8.2f}x "
        f"{ratio['load_cpu_ms']:>8.2f}x {ratio['record_s']:>7.2f}x {ratio['replay_s']:>7.2f}x"
    )
    print(
        f"\nmedians of {RUNS} recordings ({LOADS} loads each); targets: load <= 20 ms for "
        "either, long/short size and load <= 2x"
    )


if __name__ == "__main__":
    main()
