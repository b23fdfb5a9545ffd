"""Syncing behind the writes: the SQLite store's commits return once written and are synced to
disk by a background thread; ``sync()`` waits for it; a failed sync is never silent."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from lllm_adapters.logs import SQLiteLogStore, background_sync
from lllm_adapters.logs.background_sync import BackgroundSync
from lllm_adapters.logs.record_codec import LogStoreError
from lllm_domain.ports import LogEntry


def test_requests_made_while_a_sync_runs_share_the_next_sync() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_sync() -> None:
        calls.append(1)
        started.set()
        release.wait(5)

    syncer = BackgroundSync(slow_sync, "test")
    syncer.request()
    assert started.wait(5)
    for _ in range(50):
        syncer.request()
    release.set()
    syncer.wait()
    assert len(calls) == 2  # the first sync, then one for the 50 that came meanwhile


def test_wait_returns_only_once_the_sync_is_done() -> None:
    release = threading.Event()
    done: list[str] = []

    def sync() -> None:
        release.wait(5)
        done.append("synced")

    syncer = BackgroundSync(sync, "test")
    syncer.request()
    waiter = threading.Thread(target=lambda: (syncer.wait(), done.append("waited")))
    waiter.start()
    waiter.join(0.2)
    assert done == []  # still waiting for the sync
    release.set()
    waiter.join(5)
    assert done == ["synced", "waited"]


def test_a_failed_sync_is_raised_by_every_later_wait_and_check() -> None:
    def failing() -> None:
        raise OSError(5, "Input/output error")

    attempts: list[int] = []

    def failing_counted() -> None:
        attempts.append(1)
        failing()

    syncer = BackgroundSync(failing_counted, "the log at /x/log.db-wal")
    syncer.request()
    for check in (syncer.wait, syncer.check, syncer.wait):
        with pytest.raises(LogStoreError, match=r"cannot sync the log at /x/log\.db-wal"):
            check()
    # The thread gives up after the failure instead of retrying in a busy loop.
    syncer.request()
    deadline = time.monotonic() + 5
    while syncer._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert syncer._thread is None
    time.sleep(0.05)
    assert len(attempts) == 1


def test_the_sqlite_store_syncs_its_write_ahead_log_behind_each_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(background_sync.os, "fsync", recording_fsync)
    store = SQLiteLogStore(tmp_path / "log.db")
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: no sync inline
    store.append_entries([LogEntry("dialogs", "s", {"n": 1}), LogEntry("calls", "s", {"n": 2})])
    store.sync()
    assert str(tmp_path / "log.db-wal") in synced
    synced.clear()
    store.append("dialogs", "s", {"n": 3})
    store.close()  # closing waits for the sync of the last commit
    assert str(tmp_path / "log.db-wal") in synced
    reopened = SQLiteLogStore(tmp_path / "log.db")
    assert [r.data["n"] for r in reopened.read("dialogs", "s")] == [1, 3]
    reopened.close()


def test_wait_for_sync_makes_every_commit_sync_inline(tmp_path: Path) -> None:
    store = SQLiteLogStore(tmp_path / "log.db", wait_for_sync=True)
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store._syncer is None
    store.close()
    loose = SQLiteLogStore(tmp_path / "loose.db", durable=False)
    assert loose._db.execute("PRAGMA synchronous").fetchone()[0] == 1
    assert loose._syncer is None
    loose.close()


def test_a_request_left_to_the_caller_wakes_no_thread_and_is_synced_once_by_it() -> None:
    threads: list[str] = []
    syncer = BackgroundSync(lambda: threads.append(threading.current_thread().name), "test")
    syncer.request(background=False)
    syncer.request(background=False)
    assert syncer._thread is None and threads == []
    syncer.sync_requested()
    syncer.sync_requested()  # nothing new asked for: no second sync
    assert threads == [threading.current_thread().name]
    syncer.wait()  # nothing pending either
    assert len(threads) == 1


def test_wait_wakes_an_idle_sync_thread_for_a_request_left_to_the_caller() -> None:
    synced = threading.Event()
    syncer = BackgroundSync(synced.set, "test", idle_timeout=30)
    syncer.request()
    assert synced.wait(5)
    synced.clear()
    syncer.request(background=False)  # the thread, idle for 30 s, is not told
    started = time.monotonic()
    syncer.wait()
    assert synced.is_set() and time.monotonic() - started < 5
    with syncer._cond:  # let the idle thread end now rather than in 30 s
        syncer._cond.notify_all()


def _fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(file, thread name) of every fsync from now on."""
    synced: list[tuple[str, str]] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), threading.current_thread().name))
        real_fsync(fd)

    monkeypatch.setattr(background_sync.os, "fsync", recording_fsync)
    return synced


def test_the_sqlite_store_leaves_the_sync_of_commit_entries_to_sync_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _fsyncs(monkeypatch)
    store = SQLiteLogStore(tmp_path / "log.db")
    wal = str(tmp_path / "log.db-wal")
    store.commit_entries([LogEntry("dialogs", "s", {"n": 1}), LogEntry("calls", "s", {"n": 2})])
    assert [r.data["n"] for r in store.read("dialogs", "s")] == [1]  # committed already
    time.sleep(0.05)
    assert synced == [] and store._syncer is not None and store._syncer._thread is None
    store.sync_commits()
    assert synced == [(wal, threading.current_thread().name)]
    store.sync_commits()  # nothing new: no second sync
    assert len(synced) == 1
    store.commit_entries([LogEntry("dialogs", "s", {"n": 3})])
    store.close()  # closing syncs what commit_entries left
    assert len(synced) == 2 and synced[-1][0] == wal


def test_a_failed_sync_of_the_commits_is_raised_then_and_by_every_later_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    store = SQLiteLogStore(tmp_path / "log.db")
    store.commit_entries([LogEntry("dialogs", "s", {"n": 1})])
    monkeypatch.setattr(background_sync.os, "fsync", failing)
    with pytest.raises(LogStoreError, match=r"cannot sync the SQLite log .*log\.db-wal"):
        store.sync_commits()
    monkeypatch.undo()
    for again in (
        lambda: store.commit_entries([LogEntry("dialogs", "s", {"n": 2})]),
        lambda: store.append("dialogs", "s", {"n": 3}),
        store.sync,
    ):
        with pytest.raises(LogStoreError, match="check the disk"):
            again()
    assert [r.data["n"] for r in store.read("dialogs", "s")] == [1]


def test_the_log_writer_syncs_sqlite_commits_in_its_own_thread_and_starts_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the log writer, the store's commits are synced by the writer's thread right
    after it has woken the waiting calls, also for a flush written in the caller's thread; no
    background sync thread is started for them."""
    import asyncio

    from lllm_domain.log_writer import writer_for

    synced = _fsyncs(monkeypatch)
    store = SQLiteLogStore(tmp_path / "log.db")
    wal = str(tmp_path / "log.db-wal")
    writer = writer_for(store)

    async def logged() -> None:
        writer.submit([LogEntry("dialogs", "a", {"n": 1})])
        await writer.aflush([LogEntry("dialogs", "a", {"n": 2})])

    asyncio.run(logged())
    writer.flush([LogEntry("dialogs", "b", {"n": 3})])  # written in this thread
    deadline = time.monotonic() + 5
    while not synced and time.monotonic() < deadline:
        time.sleep(0.01)
    deadline = time.monotonic() + 5
    while writer._unsynced is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert synced and {name for _, name in synced} == {"lllm-log-writer"}
    assert {path for path, _ in synced} == {wal}
    assert writer._unsynced is None
    assert store._syncer is not None and store._syncer._thread is None  # no sync thread
    assert [r.data["n"] for r in store.read("dialogs", "a")] == [1, 2]
    store.close()
