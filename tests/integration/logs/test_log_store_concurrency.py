"""Many threads and asyncio tasks appending at once lose nothing."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from tests.support.logs_stores import PERSISTENT_KINDS, make_store


@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_threads_lose_nothing(kind: str, tmp_path: Path) -> None:
    store = make_store(kind, tmp_path, durable=False)
    start = threading.Barrier(8)

    def work(t: int) -> None:
        start.wait()
        for i in range(50):
            if i % 5 == 0:
                store.append_many(
                    "messages", "shared", [{"t": t, "i": i, "part": p} for p in range(2)]
                )
            else:
                store.append("messages", "shared", {"t": t, "i": i, "part": 0})
            store.append("frontend", f"own-{t}", {"i": i})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    shared = store.read("messages", "shared")
    assert [r.seq for r in shared] == list(range(len(shared)))
    assert len(shared) == 8 * (50 + 10)
    for t in range(8):
        mine = [(r.data["i"], r.data["part"]) for r in shared if r.data["t"] == t]
        expected = [(i, p) for i in range(50) for p in (range(2) if i % 5 == 0 else range(1))]
        assert mine == expected  # each writer's records in its own order, batches contiguous
        assert [r.data["i"] for r in store.read("frontend", f"own-{t}")] == list(range(50))
    assert len(store.sessions()) == 9


@pytest.mark.parametrize("kind", PERSISTENT_KINDS)
def test_asyncio_tasks_lose_nothing(kind: str, tmp_path: Path) -> None:
    store = make_store(kind, tmp_path, durable=False)

    async def task(n: int) -> None:
        for i in range(20):
            if i % 2:
                await asyncio.to_thread(store.append, "messages", "async", {"n": n, "i": i})
            else:
                store.append("messages", "async", {"n": n, "i": i})
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(task(n) for n in range(16)))

    asyncio.run(main())
    records = store.read("messages", "async")
    assert len(records) == 16 * 20
    for n in range(16):
        assert [r.data["i"] for r in records if r.data["n"] == n] == list(range(20))
