"""The log writer syncs a store that can sync later (``DeferredSyncLogStore``) itself, in its own
thread, after it has woken the calls a commit was waiting for; a failed sync stays the store's
to report and the writer goes on."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence

from lllm_domain.log_writer import writer_for
from lllm_domain.ports import LogEntry, is_deferred_sync_store

from tests.support.memory_log import MemoryLogStore


class DeferredStore(MemoryLogStore):
    """Commits in memory and notes, in order, each commit, each sync and the thread each ran
    in."""

    def __init__(self, *, failing_syncs: int = 0) -> None:
        super().__init__()
        self.events: list[tuple[str, str]] = []
        self.failing_syncs = failing_syncs
        self.synced = threading.Event()
        self.disk = threading.Event()
        """Syncs wait for this (a slow disk) until it is set."""
        self.disk.set()

    def append_entries(self, entries: Sequence[LogEntry]) -> None:
        raise AssertionError("the log writer commits with commit_entries")

    def commit_entries(self, entries: Sequence[LogEntry]) -> None:
        for e in entries:
            self.append(e.collection, e.session, e.data)
        self.events.append(("commit", threading.current_thread().name))

    def sync_commits(self) -> None:
        self.events.append(("sync", threading.current_thread().name))
        assert self.disk.wait(5)
        if self.failing_syncs:
            self.failing_syncs -= 1
            raise OSError(5, "Input/output error")
        self.synced.set()


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 5
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert condition(), what


def test_the_port_check_knows_a_deferred_sync_store() -> None:
    assert is_deferred_sync_store(DeferredStore())
    assert not is_deferred_sync_store(MemoryLogStore())


def test_an_awaited_commit_wakes_the_call_without_waiting_for_the_sync() -> None:
    """The call is woken once its records are committed; the writer's thread syncs them after,
    so a slow disk never holds a call back."""
    store = DeferredStore()
    store.disk.clear()  # every sync hangs until the test lets it go
    writer = writer_for(store)

    async def call() -> None:
        await writer.aflush([LogEntry("dialogs", "s", {"n": 1})])

    asyncio.run(call())  # returns although the sync cannot finish
    assert [r.data["n"] for r in store.read("dialogs", "s")] == [1]
    assert not store.synced.is_set()
    store.disk.set()
    assert store.synced.wait(5)
    assert store.events == [("commit", "lllm-log-writer"), ("sync", "lllm-log-writer")]


def test_a_flush_written_in_the_callers_thread_is_synced_by_the_writers_thread() -> None:
    store = DeferredStore()
    writer = writer_for(store)
    writer.flush([LogEntry("dialogs", "s", {"n": 1})])
    here = threading.current_thread().name
    assert store.events[0] == ("commit", here)
    assert store.synced.wait(5)
    assert store.events[1:] == [("sync", "lllm-log-writer")]


def test_a_failed_sync_does_not_stop_the_writer() -> None:
    store = DeferredStore(failing_syncs=1)
    writer = writer_for(store)
    writer.submit([LogEntry("dialogs", "s", {"n": 1})])
    _wait_for(lambda: ("sync", "lllm-log-writer") in store.events, "the first sync ran")
    writer.submit([LogEntry("dialogs", "s", {"n": 2})])
    assert store.synced.wait(5)
    assert [r.data["n"] for r in store.read("dialogs", "s")] == [1, 2]
    assert [kind for kind, _ in store.events] == ["commit", "sync", "commit", "sync"]


def test_draining_at_exit_syncs_in_the_draining_thread() -> None:
    store = DeferredStore()
    writer = writer_for(store)
    writer.flush([LogEntry("dialogs", "s", {"n": 1})])
    _wait_for(lambda: writer._thread is None or store.synced.is_set(), "the writer settled")
    store.synced.clear()
    store.events.clear()
    with writer._cond:  # as if the writer's thread were gone (interpreter exit)
        writer._unsynced = store
    writer.drain()
    assert ("sync", threading.current_thread().name) in store.events
