"""Syncing to disk behind the writes: a store writes a record (safe from a killed process once
the write returns) and asks for a sync, which a background thread performs moments later —
one sync for every write that came in meanwhile. :meth:`BackgroundSync.wait` waits until every
write asked for so far is on disk (so it survives a power cut too).

This keeps the disk's sync latency off the agent call's path without giving up syncing every
commit: a log store's durability is then "safe from a crash of the program at once, and from a
crash of the machine within one sync"."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable

from lllm_adapters.logs.record_codec import LogStoreError


class BackgroundSync:
    """Runs ``sync`` on a background thread after :meth:`request`, coalescing requests.

    ``where`` names what is synced, for error messages. The thread starts on demand and ends
    after ``idle_timeout`` seconds with nothing to do. A failed sync is raised by the next
    :meth:`wait` and :meth:`check` (and every later one: a disk that cannot sync is not
    trusted again)."""

    def __init__(self, sync: Callable[[], None], where: str, *, idle_timeout: float = 1.0):
        self._sync = sync
        self._where = where
        self._idle_timeout = idle_timeout
        self._cond = threading.Condition()
        self._requested = 0
        self._synced = 0
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        _LIVE.add(self)

    def request(self, *, background: bool = True) -> None:
        """Ask for a sync of everything written so far (returns at once). With
        ``background=False`` the thread is not woken for it: the caller syncs later with
        :meth:`sync_requested` (or :meth:`wait` does)."""
        with self._cond:
            self._requested += 1
            if self._error is not None or not background:
                return  # see check(): a failure is raised to the writer instead
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lllm-log-sync", daemon=True)
                self._thread.start()
            else:
                self._cond.notify_all()

    def wait(self) -> None:
        """Block until every sync asked for so far is done (at once when none is pending)."""
        with self._cond:
            target = self._requested
            while self._synced < target and self._error is None:
                if self._thread is None:  # none running (e.g. after a fork): sync here
                    self._cond.release()
                    try:
                        self._sync_now(target)
                    finally:
                        self._cond.acquire()
                else:
                    self._cond.notify_all()  # it may not know of a request(background=False)
                    self._cond.wait()
        self.check()

    def sync_requested(self) -> None:
        """Sync, in this thread, everything asked for so far that is not synced yet (at once
        when nothing is), and raise the error of a failed sync."""
        with self._cond:
            target = self._requested
            pending = self._synced < target and self._error is None
        if pending:
            self._sync_now(target)
        self.check()

    def check(self) -> None:
        """Raise the error of a failed sync, if one failed."""
        if self._error is not None:
            raise LogStoreError(
                f"cannot sync {self._where} to disk: {self._error}; the last records may not "
                "survive a crash of the machine; check the disk"
            ) from self._error

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._error is not None:
                    # A disk that failed to sync is not trusted again (every wait and check
                    # raises): nothing more to do, and retrying at once would spin.
                    self._thread = None
                    return
                if self._synced >= self._requested:
                    self._cond.wait(self._idle_timeout)
                    if self._synced >= self._requested:
                        self._thread = None
                        return
                target = self._requested
            self._sync_now(target)

    def _sync_now(self, target: int) -> None:
        try:
            self._sync()
        except BaseException as error:
            with self._cond:
                self._error = error
                self._cond.notify_all()
            return
        with self._cond:
            self._synced = max(self._synced, target)
            self._cond.notify_all()


_LIVE: weakref.WeakSet[BackgroundSync] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A forked child has no sync thread and may have copied a held lock: it syncs in the
    # thread that waits (see BackgroundSync.wait).
    for syncer in list(_LIVE):
        syncer._cond = threading.Condition()
        syncer._thread = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def fsync_path(path: str | os.PathLike[str]) -> None:
    """Sync the file or folder at ``path`` to disk (a missing one has nothing to sync)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
