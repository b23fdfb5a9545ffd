"""Log-store throughput, load time and size on disk.

Run: uv run python bench/log_stores.py

For each store (SQLite, local files): durable appends per second (one record per call, synced
to disk), batched appends per second (``append_many`` of 1 000 records), the time to read back a
10 000-message session (raw records, and as a ReplaySession with messages rebuilt), and the size
on disk per message. Figures are medians of several runs. Targets: SQLite >= 5 000 durable
appends/s and >= 50 000 batched appends/s; loading 10 000 messages <= 150 ms.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lllm_adapters.logs import FileLogStore, SQLiteLogStore
from lllm_domain.message import Message, Role
from lllm_domain.ports import LogStore
from lllm_domain.replay import ReplaySession
from lllm_domain.serialization import message_to_data
from lllm_domain.usage import Cost, Usage

RUNS = 3
SESSION = 10_000


def _record(i: int) -> dict[str, Any]:
    """A realistic ``messages`` record: an assistant reply with usage and cost."""
    message = Message(
        Role.ASSISTANT if i % 2 else Role.USER,
        f"Turn {i}: " + "The quick brown fox jumps over the lazy dog. " * 8,
        "researcher" if i % 2 else "user",
        model="gpt-4o-mini" if i % 2 else None,
        usage=Usage(1200 + i, 180) if i % 2 else None,
        cost=Cost(0.00018, 0.0, 0.000108) if i % 2 else None,
    )
    return {"dialog_id": "d" * 32, "index": i, "message": message_to_data(message)}


def _make(kind: str, root: Path) -> LogStore:
    if kind == "sqlite":
        return SQLiteLogStore(root / "logs.sqlite3")
    return FileLogStore(root)


def _median(measure: Callable[[Path], float]) -> float:
    results = []
    for _ in range(RUNS):
        root = Path(tempfile.mkdtemp(prefix="lllm-bench-"))
        try:
            results.append(measure(root))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return statistics.median(results)


def durable_appends(kind: str, count: int) -> float:
    def measure(root: Path) -> float:
        store = _make(kind, root)
        records = [_record(i) for i in range(count)]
        start = time.perf_counter()
        for record in records:
            store.append("messages", "bench", record)
        return count / (time.perf_counter() - start)

    return _median(measure)


def batched_appends(kind: str, batches: int, size: int = 1000) -> float:
    def measure(root: Path) -> float:
        store = _make(kind, root)
        records = [_record(i) for i in range(size)]
        start = time.perf_counter()
        for _ in range(batches):
            store.append_many("messages", "bench", records)
        return batches * size / (time.perf_counter() - start)

    return _median(measure)


def load(kind: str) -> tuple[float, float, float]:
    """(raw read ms, ReplaySession ms, bytes on disk per message) for a 10 000-message session."""
    raw: list[float] = []
    replay: list[float] = []
    sizes: list[float] = []
    for _ in range(RUNS):
        root = Path(tempfile.mkdtemp(prefix="lllm-bench-"))
        try:
            store = _make(kind, root)
            store.append(
                "dialogs",
                "bench",
                {
                    "dialog_id": "d" * 32,
                    "agent_name": "researcher",
                    "parent_id": None,
                    "inherited_messages": 0,
                },
            )
            records = [_record(i) for i in range(SESSION)]
            for start in range(0, SESSION, 1000):
                store.append_many("messages", "bench", records[start : start + 1000])
            close = getattr(store, "close", None)
            if close is not None:
                close()
            sizes.append(sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / SESSION)
            store = _make(kind, root)
            t0 = time.perf_counter()
            assert len(store.read("messages", "bench")) == SESSION
            raw.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            session = ReplaySession(store, "bench")
            assert len(session.messages("d" * 32)) == SESSION
            replay.append((time.perf_counter() - t0) * 1000)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return statistics.median(raw), statistics.median(replay), statistics.median(sizes)


def main() -> None:
    rows = []
    for kind, durable_n, batches in (("sqlite", 3000, 10), ("localfile", 600, 2)):
        raw_ms, replay_ms, size = load(kind)
        rows.append(
            (
                kind,
                durable_appends(kind, durable_n),
                batched_appends(kind, batches),
                raw_ms,
                replay_ms,
                size,
            )
        )
    header = (
        f"{'store':10} {'durable/s':>10} {'batched/s':>10} {'read 10k ms':>12} "
        f"{'replay 10k ms':>14} {'bytes/msg':>10}"
    )
    print(header)
    print("-" * len(header))
    for kind, durable, batched, raw_ms, replay_ms, size in rows:
        print(
            f"{kind:10} {durable:>10,.0f} {batched:>10,.0f} {raw_ms:>12.1f} {replay_ms:>14.1f} "
            f"{size:>10,.0f}"
        )
    print(
        f"\nmedians of {RUNS} runs; targets: sqlite >= 5,000 durable/s, >= 50,000 batched/s, "
        "read 10k <= 150 ms"
    )


if __name__ == "__main__":
    main()
