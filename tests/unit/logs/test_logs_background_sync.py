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
