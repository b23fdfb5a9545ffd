"""The log writer: writes the records the domain produced, off the agent call's path.

Dialogs and agent calls do no I/O: they collect :class:`~lllm_domain.ports.LogEntry` records in
an outbox. The drivers hand each turn's records to the store's :class:`LogWriter`, which writes
them on a background thread while the next request is in flight, committing whatever has
queued in one go (one transaction and one sync for the stores that offer
``append_entries``). At the end of a call the driver waits until everything it handed over is
written, so a call that returns, raises or is cancelled has flushed its records.

A store that can sync later (:class:`~lllm_domain.ports.DeferredSyncLogStore`, such as the
SQLite store) is synced by the writer's thread itself, right after it has woken the calls a
commit was waiting for: no second thread competes with a busy event loop for the interpreter.

While several async agent calls log at once to a store that can be written through a log host
process (:class:`~lllm_domain.ports.PipelinedLogStore`: the SQLite and file stores), their
batches go to the host instead, and the event loop reads its confirmations itself: the commits
and syncs of a busy event loop's calls run in another process, so no thread of this one takes
turns at the interpreter with the loop. Everything else (the sync driver, a lone async call,
``submit``) is written here.

Batches are written in the order they were handed over (one writer per store, first in first
out), so waiting for one batch also waits for every batch handed over before it, whoever
handed it over: a batch is written here only once the host has committed every batch sent to
it before, and a batch goes to the host only when nothing handed over before is still to be
written here.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from itertools import groupby
from typing import Protocol, cast

from lllm_domain.ports import (
    DeferredSyncLogStore,
    LogEntry,
    LogPipeline,
    LogStore,
    PipelinedLogStore,
    is_batch_store,
    is_deferred_sync_store,
    is_pipelined_store,
)


def write_entries(store: LogStore, entries: Sequence[LogEntry]) -> None:
    """Write ``entries`` to ``store`` in order: at once when the store offers
    ``append_entries``, else one ``append_many`` per run of the same collection and session."""
    if not entries:
        return
    if is_batch_store(store):
        store.append_entries(entries)
        return
    for (collection, session), run in groupby(entries, key=lambda e: (e.collection, e.session)):
        store.append_many(collection, session, [e.data for e in run])


class Handed(Protocol):
    """What :meth:`LogWriter.submit` returns: ``result()`` waits until the batch (and every
    batch before it) is written, and raises the store's error if its write failed."""

    def result(self, timeout: float | None = None) -> None:
        """Wait for the batch; raise the store's error if its write failed."""
        ...


class _Piped:
    """A batch sent through a :class:`~lllm_domain.ports.LogPipeline` (see :class:`Handed`)."""

    __slots__ = ("pipe", "ticket")

    def __init__(self, pipe: LogPipeline, ticket: int) -> None:
        self.pipe = pipe
        self.ticket = ticket

    def result(self, timeout: float | None = None) -> None:
        """Wait until the host confirmed the batch (``timeout`` is not supported: the host
        confirms or dies, and either ends the wait)."""
        self.pipe.wait_sent(self.ticket)


class _Batch:
    __slots__ = ("entries", "future", "store", "waiters")

    def __init__(self, store: LogStore | None, entries: list[LogEntry]) -> None:
        # The batch keeps its store alive until it is written, even if every dialog using the
        # store is gone by then.
        self.store = store
        self.entries = entries
        self.future: Future[None] = Future()
        self.waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        """Coroutines awaiting this batch (see :meth:`LogWriter.aflush`), by event loop."""


def _settle(outcomes: list[tuple[asyncio.Future[None], BaseException | None]]) -> None:
    """In an event loop: finish the futures of the coroutines a write was awaited by."""
    for waiter, error in outcomes:
        if waiter.done():  # the awaiting coroutine was cancelled
            continue
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)


def _wake(batches: list[_Batch], error: BaseException | None) -> None:
    """Tell the coroutines awaiting ``batches`` that the write ended: one wake-up per event
    loop, however many of its coroutines waited (each wake-up costs the loop a system call and
    the writer a turn at the interpreter lock)."""
    by_loop: dict[
        asyncio.AbstractEventLoop, list[tuple[asyncio.Future[None], BaseException | None]]
    ]
    by_loop = {}
    for batch in batches:
        for loop, waiter in batch.waiters:
            by_loop.setdefault(loop, []).append((waiter, error))
    for loop, outcomes in by_loop.items():
        with contextlib.suppress(RuntimeError):  # a loop closed meanwhile has no one waiting
            loop.call_soon_threadsafe(_settle, outcomes)


GROUP_COMMIT_WINDOW = 0.005
"""Seconds the writer thread waits, once woken, before writing while several async agent calls
log to its store at once, so that what they hand over meanwhile is committed together (one
transaction and one sync instead of one each, and far fewer wake-ups competing with the event
loop for the interpreter). A lone call is written at once; see :meth:`LogWriter.call_started`."""


class LogWriter:
    """Writes batches of log entries to one store, first in first out.

    :meth:`submit` hands a batch over without waiting (a background thread writes it);
    :meth:`flush` and :meth:`aflush` hand a batch over and wait until it, and every batch before
    it, is written. A thread is started on demand and ends after ``idle_timeout`` seconds with
    nothing to write. A failed write fails every batch it held: their futures carry the store's
    error.
    """

    def __init__(self, store: LogStore, *, idle_timeout: float = 1.0) -> None:
        try:
            ref: Callable[[], LogStore | None] = weakref.ref(store)
        except TypeError:
            ref = lambda: store  # noqa: E731 - a store that cannot be weakly referenced
        self._store = ref
        self._idle_timeout = idle_timeout
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._queue: list[_Batch] = []
        self._thread: threading.Thread | None = None
        self._active_calls = 0
        self._unsynced: DeferredSyncLogStore | None = None
        """A store with commits to sync (held until synced, so it outlives its last user)."""
        self._pipelined = is_pipelined_store(store)
        self._pipe: LogPipeline | None = None
        """The pipeline batches were sent through (waited for before writing here)."""
        _LIVE.add(self)

    def __repr__(self) -> str:
        return f"LogWriter({self._store()!r})"

    @property
    def store(self) -> LogStore | None:
        """The store written to (``None`` once it has been garbage-collected)."""
        return self._store()

    # -- group commit --------------------------------------------------------------------------

    def call_started(self) -> None:
        """An async agent call logging here began: while more than one runs, the writer waits
        :data:`GROUP_COMMIT_WINDOW` to commit their records together."""
        with self._cond:
            self._active_calls += 1

    def call_ended(self) -> None:
        """An async agent call logging here ended (see :meth:`call_started`)."""
        with self._cond:
            self._active_calls = max(0, self._active_calls - 1)

    # -- handing over ------------------------------------------------------------------------

    def submit(self, entries: Sequence[LogEntry]) -> Handed:
        """Hand ``entries`` over; the returned future is done once they (and every earlier
        batch) are written. Never blocks on I/O. While several async calls log at once, the
        batch goes to the store's log host (see :meth:`aflush`)."""
        if self._pipelined and self._active_calls > 1 and entries:
            sent = self._send_piped(entries)
            if sent is not None:
                return _Piped(*sent)
        return self._enqueue(entries, start_thread=True)

    def flush(self, entries: Sequence[LogEntry] = ()) -> None:
        """Hand ``entries`` over and block until they and every earlier batch are written
        (in this thread when no write is under way). Raises the store's error if the write
        of this batch failed."""
        self._wait_piped()
        future = self._enqueue(entries, start_thread=False)
        while not future.done():
            self._write_queued()
        with self._cond:
            if self._unsynced is not None:
                self._start_or_notify()  # the writer's thread syncs what this thread wrote
        future.result()

    async def aflush(self, entries: Sequence[LogEntry] = ()) -> None:
        """The async form of :meth:`flush`: the write happens on the writer's thread, and the
        coroutines of one event loop that a write finishes are woken together. While several
        async calls log at once to a :class:`~lllm_domain.ports.PipelinedLogStore`, the batch
        goes to its log host instead, once it is ready."""
        if self._pipelined and self._active_calls > 1:
            sent = self._send_piped(entries)
            if sent is not None:
                await sent[0].await_sent(sent[1])
                return
        waiter = asyncio.get_running_loop().create_future()
        future = self._enqueue(entries, start_thread=True, waiter=waiter)
        if not future.done():
            await waiter
        future.result()

    def _send_piped(self, entries: Sequence[LogEntry]) -> tuple[LogPipeline, int] | None:
        """Send ``entries`` through the store's pipeline: the pipeline and the ticket to wait
        for, or ``None`` if the batch must be written here (no pipeline ready, or batches
        handed over before are still to be written here)."""
        store = self._store()
        if store is None:
            return None
        pipe = cast(PipelinedLogStore, store).log_pipeline()
        if pipe is None:
            return None
        with self._cond:
            if self._queue or self._write_lock.locked():
                return None
            self._pipe = pipe
            return pipe, pipe.send_entries(entries)

    def _wait_piped(self) -> None:
        """Block until every batch sent through the pipeline so far is committed (their
        failures are their waiters' to report)."""
        pipe = self._pipe
        if pipe is not None:
            with contextlib.suppress(Exception):
                pipe.wait_sent(pipe.last_sent)

    def _enqueue(
        self,
        entries: Sequence[LogEntry],
        *,
        start_thread: bool,
        waiter: asyncio.Future[None] | None = None,
    ) -> Future[None]:
        with self._cond:
            if not entries and not self._queue and not self._write_lock.locked():
                done: Future[None] = Future()
                done.set_result(None)  # nothing is pending: everything before is written
                return done
            batch = _Batch(self._store(), list(entries))
            if waiter is not None:
                batch.waiters.append((waiter.get_loop(), waiter))
            self._queue.append(batch)
            if start_thread:
                self._start_or_notify()
            return batch.future

    def _start_or_notify(self) -> None:
        """Start the writer's thread, or wake it (with ``self._cond`` held)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="lllm-log-writer", daemon=True)
            self._thread.start()
        else:
            self._cond.notify()

    # -- writing -----------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._queue and self._unsynced is None:
                    self._cond.wait(self._idle_timeout)
                    if not self._queue and self._unsynced is None:
                        self._thread = None
                        return
                busy = self._active_calls > 1 and bool(self._queue)
            if busy:
                time.sleep(GROUP_COMMIT_WINDOW)
            self._write_queued()
            self._sync()

    def _sync(self) -> None:
        """Sync the commits of a :class:`~lllm_domain.ports.DeferredSyncLogStore` made so far.
        A failure is the store's to keep: its next commit raises it to whoever waits for it."""
        with self._cond:
            store, self._unsynced = self._unsynced, None
        if store is not None:
            with contextlib.suppress(Exception):
                store.sync_commits()

    def _write_queued(self) -> None:
        with self._write_lock:
            with self._cond:
                batches, self._queue = self._queue, []
            if not batches:
                return
            self._wait_piped()
            unsynced: DeferredSyncLogStore | None = None
            try:
                # Consecutive batches for the same store are written together.
                for store, group in groupby(batches, key=lambda b: b.store):
                    entries = [e for b in group for e in b.entries]
                    if not entries or store is None:
                        continue
                    if is_deferred_sync_store(store):
                        store.commit_entries(entries)
                        unsynced = store
                    else:
                        write_entries(store, entries)
            except BaseException as error:
                self._note_unsynced(unsynced)
                for b in batches:
                    b.future.set_exception(error)
                _wake(batches, error)
                if not isinstance(error, Exception):
                    raise
                return
            self._note_unsynced(unsynced)
            for b in batches:
                b.future.set_result(None)
            _wake(batches, None)

    def _note_unsynced(self, store: DeferredSyncLogStore | None) -> None:
        if store is not None:
            with self._cond:
                self._unsynced = store

    def drain(self) -> None:
        """Write and sync everything handed over so far (used at interpreter exit); failures
        reach the callers through their futures."""
        with contextlib.suppress(Exception):
            self.flush()
        self._sync()


_LIVE: weakref.WeakSet[LogWriter] = weakref.WeakSet()
_REGISTRY_LOCK = threading.Lock()
_BY_STORE: weakref.WeakKeyDictionary[LogStore, LogWriter] = weakref.WeakKeyDictionary()
_BY_ID: dict[int, LogWriter] = {}


def writer_for(store: LogStore) -> LogWriter:
    """The writer of ``store``: one per store, so batches of every dialog logged to it are
    written in the order they were handed over."""
    with _REGISTRY_LOCK:
        try:
            writer = _BY_STORE.get(store)
            if writer is None:
                writer = _BY_STORE[store] = LogWriter(store)
            return writer
        except TypeError:
            # Unhashable stores (attrs classes with eq) are keyed by identity until collected.
            key = id(store)
            writer = _BY_ID.get(key)
            if writer is None or writer.store is not store:
                writer = _BY_ID[key] = LogWriter(store)
                with contextlib.suppress(TypeError):
                    weakref.finalize(store, _BY_ID.pop, key, None)
            return writer


def _after_fork_in_child() -> None:
    # A forked child has no writer threads and may have copied held locks: start afresh. The
    # parent still writes what it had queued.
    for writer in list(_LIVE):
        writer._cond = threading.Condition()
        writer._write_lock = threading.Lock()
        writer._queue = []
        writer._thread = None
        writer._active_calls = 0
        writer._unsynced = None
        writer._pipe = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _drain_all() -> None:
    # Records handed over but not yet written (e.g. a fork's) are written before exit.
    for writer in list(_LIVE):
        writer.drain()
