"""Log-store throughput, load time and size on disk.

Run: uv run python bench/log_stores.py

For each store (SQLite, local files, PostgreSQL): durable appends per second (one record per
call, synced to disk), batched appends per second (``append_many`` of 1 000 records), durable
turns per second (``append_entries`` of a turn's 4 records, as the log writer commits them), the
time to read back a 10 000-message session (raw records, and as a ReplaySession with messages
rebuilt), and the size on disk per message. Figures are medians of several runs. Targets:
SQLite >= 5 000 durable appends/s and >= 50 000 batched appends/s; loading 10 000 messages
<= 150 ms.

PostgreSQL: the server ``$LLLM_POSTGRES_DSN`` names (each run in a schema of its own, dropped
after), else a temporary local server with the default, durable settings (``fsync=on``,
``synchronous_commit=on``), started as the tests start theirs (Debian's ``postgresql``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lllm_adapters.logs import FileLogStore, SQLiteLogStore
from lllm_domain.log_writer import write_entries
from lllm_domain.message import Message, Role
from lllm_domain.ports import LogEntry, LogStore
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


_POSTGRES: dict[str, Any] = {}


def _postgres_dsn(root: Path) -> str:
    """A schema of its own for ``root`` on the benchmark's PostgreSQL server."""
    server = _POSTGRES.get("server")
    if server is None:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.support.postgres_server import PostgresServer

        given = os.environ.get("LLLM_POSTGRES_DSN")
        server = PostgresServer(given, owned=False) if given else PostgresServer.start(settings=())
        _POSTGRES["server"] = server
    return str(server.schema_dsn(root))


def _postgres_cleanup(root: Path) -> int:
    """Drop ``root``'s schema; return the bytes its tables and indexes took."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(_postgres_dsn(root), autocommit=True) as conn:
        row = conn.execute(
            "SELECT current_schema(), coalesce(sum(pg_total_relation_size(c.oid)), 0) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ).fetchone()
        assert row is not None
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(row[0])))
    return int(row[1])


def _make(kind: str, root: Path) -> LogStore:
    if kind == "sqlite":
        return SQLiteLogStore(root / "logs.sqlite3")
    if kind == "postgres":
        from lllm_adapters.logs.postgres_store import PostgresLogStore

        return PostgresLogStore(_postgres_dsn(root))
    return FileLogStore(root)


def _size(kind: str, root: Path) -> float:
    if kind == "postgres":
        return float(_postgres_cleanup(root))
    return float(sum(p.stat().st_size for p in root.rglob("*") if p.is_file()))


def _close(store: LogStore) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        close()


def _median(kind: str, measure: Callable[[Path], float]) -> float:
    results = []
    for _ in range(RUNS):
        root = Path(tempfile.mkdtemp(prefix="lllm-bench-"))
        try:
            results.append(measure(root))
        finally:
            if kind == "postgres":
                _postgres_cleanup(root)
            shutil.rmtree(root, ignore_errors=True)
    return statistics.median(results)


def durable_appends(kind: str, count: int) -> float:
    def measure(root: Path) -> float:
        store = _make(kind, root)
        records = [_record(i) for i in range(count)]
        start = time.perf_counter()
        for record in records:
            store.append("messages", "bench", record)
        rate = count / (time.perf_counter() - start)
        _close(store)
        return rate

    return _median(kind, measure)


def durable_turns(kind: str, count: int) -> float:
    """Records per second written as the log writer writes them: one ``append_entries`` per
    turn of 4 records across two collections (one commit each)."""

    def measure(root: Path) -> float:
        store = _make(kind, root)
        turns = [
            [
                LogEntry("messages", f"s{t % 8}", _record(4 * t + i))
                if i < 3
                else LogEntry("calls", f"s{t % 8}", {"turn": t, "model": "gpt-4o-mini"})
                for i in range(4)
            ]
            for t in range(count)
        ]
        start = time.perf_counter()
        for turn in turns:
            write_entries(store, turn)
        rate = 4 * count / (time.perf_counter() - start)
        _close(store)
        return rate

    return _median(kind, measure)


def batched_appends(kind: str, batches: int, size: int = 1000) -> float:
    def measure(root: Path) -> float:
        store = _make(kind, root)
        records = [_record(i) for i in range(size)]
        start = time.perf_counter()
        for _ in range(batches):
            store.append_many("messages", "bench", records)
        rate = batches * size / (time.perf_counter() - start)
        _close(store)
        return rate

    return _median(kind, measure)


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
            _close(store)
            store = _make(kind, root)
            t0 = time.perf_counter()
            assert len(store.read("messages", "bench")) == SESSION
            raw.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            session = ReplaySession(store, "bench")
            assert len(session.messages("d" * 32)) == SESSION
            replay.append((time.perf_counter() - t0) * 1000)
            _close(store)
            sizes.append(_size(kind, root) / SESSION)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return statistics.median(raw), statistics.median(replay), statistics.median(sizes)


def main() -> None:
    rows = []
    kinds = sys.argv[1:] or ["sqlite", "localfile", "postgres"]
    sizes = {"sqlite": (3000, 10, 750), "localfile": (600, 2, 150), "postgres": (3000, 10, 750)}
    for kind in kinds:
        durable_n, batches, turns = sizes[kind]
        raw_ms, replay_ms, size = load(kind)
        rows.append(
            (
                kind,
                durable_appends(kind, durable_n),
                durable_turns(kind, turns),
                batched_appends(kind, batches),
                raw_ms,
                replay_ms,
                size,
            )
        )
    header = (
        f"{'store':10} {'durable/s':>10} {'turns rec/s':>12} {'batched/s':>10} "
        f"{'read 10k ms':>12} {'replay 10k ms':>14} {'bytes/msg':>10}"
    )
    print(header)
    print("-" * len(header))
    for kind, durable, turn_rate, batched, raw_ms, replay_ms, size in rows:
        print(
            f"{kind:10} {durable:>10,.0f} {turn_rate:>12,.0f} {batched:>10,.0f} "
            f"{raw_ms:>12.1f} {replay_ms:>14.1f} {size:>10,.0f}"
        )
    print(
        f"\nmedians of {RUNS} runs; targets: sqlite >= 5,000 durable/s, >= 50,000 batched/s, "
        "read 10k <= 150 ms"
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        server = _POSTGRES.get("server")
        if server is not None:
            server.stop()
