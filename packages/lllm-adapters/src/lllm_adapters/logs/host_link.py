"""The link to a log host process (:mod:`lllm_adapters.logs.log_host`): a
:class:`~lllm_domain.ports.LogPipeline` into a log store.

This process only packs each batch (msgpack) and writes it to a pipe; redacting, encoding, the
database and the disk syncs happen in the host. No thread of this process wakes up for it: an
event loop that awaits a batch reads the host's confirmations itself (``add_reader``), a blocking
caller reads them in its own thread.

What was confirmed is committed by the host's store, exactly as if it had been written here. If
this process is killed, the host still writes everything it received and then exits; if the host
dies, the batches it had not confirmed fail with an error naming it, and the link is not used
again (the store is written here).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import subprocess
import sys
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from lllm_domain.ports import LogEntry

from lllm_adapters.logs.host_frames import FAILED, IN_HEADER, OUT_HEADER
from lllm_adapters.logs.record_codec import LogStoreError
from lllm_adapters.observability.redaction import Redactor

_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = 1031  # Linux: a larger pipe lets a burst of batches go without waiting
_WAIT_SLICE = 0.5
"""Seconds a blocking waiter waits at a time before checking on the host again."""


class HostLink:
    """The pipeline into the store ``spec`` describes (see
    :func:`lllm_adapters.logs.log_host.open_spec`), written by a log host process that
    :meth:`ready` starts. ``name`` says which store it is, in errors.

    The secrets in ``spec`` reach the host through the pipe, never its command line. Close with
    :meth:`close`: the host writes what it has, syncs and exits.
    """

    def __init__(self, spec: Mapping[str, Any], name: str, *, python: str = sys.executable) -> None:
        self.name = name
        self._python = python
        self._encoder = msgspec.msgpack.Encoder()
        self._spec = self._encoder.encode(dict(spec))
        self._closed = False
        self.broken: str | None = None
        """Why the link is not used any more (the host could not start or open the store, or
        died)."""
        if os.name != "posix":
            self.broken = f"no log host for {name}: it needs POSIX pipes an event loop can watch"
        self._reset()
        _LIVE.add(self)

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._proc: subprocess.Popen[bytes] | None = None
        self._to_host = -1
        self._from_host = -1
        self._outgoing = bytearray()
        self._incoming = bytearray()
        self._writer_loop: asyncio.AbstractEventLoop | None = None
        self._flush_loop: asyncio.AbstractEventLoop | None = None
        self._sent = 0
        self._confirmed = -1  # the host confirms frame 0 (the store's) once the store is open
        self._failed: dict[int, str] = {}
        self._reader_loop: asyncio.AbstractEventLoop | None = None
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def __repr__(self) -> str:
        return f"HostLink({self.name!r})"

    @property
    def last_sent(self) -> int:
        """The ticket of the last batch sent (0 before the first)."""
        return self._sent

    # -- the host ------------------------------------------------------------------------------

    def ready(self) -> bool:
        """Whether the host takes batches now; the first call starts it (the batches meanwhile
        are the store's to write). False for good once the link is broken or closed."""
        with self._cond:
            if self.broken is not None or self._closed:
                return False
            if self._proc is None:
                self._start()
                return False
            if self._confirmed < 0:
                self._read_confirmations()
            return self._confirmed >= 0 and self.broken is None

    def _start(self) -> None:
        """Start the host (under the lock)."""
        try:
            proc = subprocess.Popen(
                [self._python, "-m", "lllm_adapters.logs.log_host"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                close_fds=True,
            )
        except OSError as error:
            self.broken = f"cannot start a log host for {self.name} ({self._python}): {error}"
            return
        assert proc.stdin is not None and proc.stdout is not None
        self._proc = proc
        self._to_host = os.dup(proc.stdin.fileno())
        self._from_host = os.dup(proc.stdout.fileno())
        proc.stdin.close()
        proc.stdout.close()
        with contextlib.suppress(OSError):
            import fcntl

            fcntl.fcntl(self._to_host, _F_SETPIPE_SZ, _PIPE_SIZE)
            fcntl.fcntl(self._from_host, _F_SETPIPE_SZ, _PIPE_SIZE)
        os.set_blocking(self._to_host, False)
        os.set_blocking(self._from_host, False)
        self._outgoing += IN_HEADER.pack(0, len(self._spec))
        self._outgoing += self._spec
        self._write_some()

    def _where(self) -> str:
        pid = self._proc.pid if self._proc is not None else "?"
        return f"the log host (pid {pid}) of {self.name}"

    def _host_gone(self) -> None:
        """The host's output ended (under the lock): fail what it did not confirm."""
        proc = self._proc
        code = proc.wait() if proc is not None else None
        message = (
            f"{self._where()} exited with code {code} before confirming these records; they may "
            "not be stored (its standard error says why); later records are written by this "
            "process"
        )
        if self.broken is None and not self._closed:
            self.broken = message
        for ticket in range(max(self._confirmed, 0) + 1, self._sent + 1):
            self._failed[ticket] = message
        self._confirmed = self._sent
        self._close_pipes()
        self._settle_waiters()
        self._cond.notify_all()

    def _close_pipes(self) -> None:
        for fd in (self._to_host, self._from_host):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._to_host = self._from_host = -1
        self._proc = None
        self._outgoing.clear()
        self._incoming.clear()
        self._reader_loop = None
        self._writer_loop = None

    # -- sending -------------------------------------------------------------------------------

    def send_entries(self, entries: Sequence[LogEntry]) -> int:
        """Hand ``entries`` to the host (never waits for it but when a caller without an event
        loop finds the pipe full); the ticket to wait for. No entries: the last ticket sent.
        Sent to a host that is gone, the batch fails (its ticket raises the reason)."""
        if not entries:
            return self._sent
        problem: str | None = None
        try:
            payload = self._encoder.encode(
                [(e.collection, e.session, e.time, e.data) for e in entries]
            )
        except (TypeError, msgspec.EncodeError) as error:
            # The batch fails; an empty one keeps its place in the host's order.
            first = entries[0]
            payload = self._encoder.encode([])
            problem = (
                f"cannot store a record in {first.collection!r} for session {first.session!r}: "
                f"{error}; log plain data (dicts, lists, strings, numbers)"
            )
        with self._cond:
            self._sent += 1
            ticket = self._sent
            if problem is not None:
                self._failed[ticket] = problem
            if self._proc is None or self._to_host < 0:
                self._failed[ticket] = self.broken or f"the log host of {self.name} is not running"
                self._confirmed = max(self._confirmed, ticket)
                return ticket
            self._outgoing += IN_HEADER.pack(ticket, len(payload))
            self._outgoing += payload
            try:
                loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is None:
                self._write_some()
                if self._outgoing:
                    self._drain_later()
            elif self._flush_loop is not loop:
                # One write per turn of the event loop, for every batch its calls sent.
                self._flush_loop = loop
                loop.call_soon(self._flush_outgoing)
            return ticket

    def _flush_outgoing(self) -> None:
        with self._cond:
            self._flush_loop = None
            if self._to_host < 0:
                return
            self._write_some()
            if self._outgoing:
                self._drain_later()

    def _write_some(self) -> None:
        """Write what the pipe takes now (under the lock)."""
        while self._outgoing:
            try:
                written = os.write(self._to_host, self._outgoing)
            except BlockingIOError:
                return
            except (BrokenPipeError, OSError):
                self._outgoing.clear()  # the host is gone: its output's end says so
                return
            del self._outgoing[:written]

    def _drain_later(self) -> None:
        """The pipe is full (under the lock): an event loop writes the rest when it can; a
        caller without one waits for the pipe here."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            if self._writer_loop is not loop:
                loop.add_writer(self._to_host, self._on_writable)
                self._writer_loop = loop
            return
        while self._outgoing and self._to_host >= 0:
            # Read confirmations meanwhile: a host blocked on a full confirmation pipe would
            # otherwise never take more input. The lock is let go while waiting, as in
            # wait_sent, so that an event loop reading confirmations is not held up.
            reads, writes = [self._from_host], [self._to_host]
            self._cond.release()
            try:
                select.select(reads, writes, [], _WAIT_SLICE)
            except (OSError, ValueError):
                pass  # closed meanwhile: the loop's condition says what became of it
            finally:
                self._cond.acquire()
            self._read_confirmations()
            self._write_some()

    def _on_writable(self) -> None:
        with self._cond:
            self._write_some()
            if not self._outgoing and self._writer_loop is not None:
                self._writer_loop.remove_writer(self._to_host)
                self._writer_loop = None

    # -- confirmations -------------------------------------------------------------------------

    def _read_confirmations(self) -> None:
        """Read what the host confirmed so far (under the lock)."""
        while self._from_host >= 0:
            try:
                data = os.read(self._from_host, 1 << 16)
            except BlockingIOError:
                break
            if not data:
                self._host_gone()
                return
            self._incoming += data
        offset = 0
        incoming = self._incoming
        while len(incoming) - offset >= OUT_HEADER.size:
            status, first, last, size = OUT_HEADER.unpack_from(incoming, offset)
            end = offset + OUT_HEADER.size + size
            if len(incoming) < end:
                break
            if status == FAILED:
                message = bytes(incoming[offset + OUT_HEADER.size : end]).decode("utf-8")
                for ticket in range(first, last + 1):
                    self._failed[ticket] = f"{self._where()}: {message}"
                if first == 0 and self.broken is None:
                    self.broken = (
                        f"{self._where()} cannot open the store ({message}); its records are "
                        "written by this process"
                    )
            self._confirmed = max(self._confirmed, last)
            offset = end
        del incoming[:offset]
        self._settle_waiters()
        self._cond.notify_all()

    def _outcome(self, ticket: int) -> LogStoreError | None:
        message = self._failed.get(ticket)
        return None if message is None else LogStoreError(message)

    def _settle_waiters(self) -> None:
        """Finish the futures of the coroutines whose batches are confirmed (under the lock)."""
        if not self._waiters:
            return
        keep = []
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None  # a blocking waiter's thread read the confirmations
        for ticket, loop, future in self._waiters:
            if ticket > self._confirmed:
                keep.append((ticket, loop, future))
                continue
            error = self._outcome(ticket)
            if loop is here:
                _settle(future, error)
            else:
                with contextlib.suppress(RuntimeError):  # a closed loop has no one waiting
                    loop.call_soon_threadsafe(_settle, future, error)
        self._waiters = keep

    def _on_readable(self) -> None:
        with self._cond:
            self._read_confirmations()
            if not self._waiters and self._reader_loop is not None:
                # Nobody in this loop waits: hand the reading back (a blocking waiter elsewhere
                # takes it up).
                with contextlib.suppress(ValueError, OSError):
                    self._reader_loop.remove_reader(self._from_host)
                self._reader_loop = None
                self._cond.notify_all()
                self._hand_reading_on()

    def wait_sent(self, ticket: int) -> None:
        """Block until ``ticket`` and every earlier batch are confirmed; raise the store's error
        if the batch of ``ticket`` failed. The waiting thread reads the confirmations itself
        (so does an event loop awaiting batches meanwhile: whoever comes first)."""
        with self._cond:
            while self._confirmed < ticket and self._from_host >= 0:
                if self._outgoing:
                    self._write_some()
                reads = [self._from_host]
                writes = [self._to_host] if self._outgoing and self._to_host >= 0 else []
                self._cond.release()
                try:
                    select.select(reads, writes, [], _WAIT_SLICE)
                except (OSError, ValueError):
                    pass  # closed meanwhile: the loop's condition says what became of it
                finally:
                    self._cond.acquire()
                self._read_confirmations()
            error = self._outcome(ticket)
            if error is None and self._confirmed < ticket:
                error = LogStoreError(
                    f"{self._where()} closed before confirming these records; they may not be "
                    "stored"
                )
        if error is not None:
            raise error

    def _hand_reading_on(self) -> None:
        """Nobody reads (under the lock): the loop of a waiting coroutine takes it up."""
        if self._reader_loop is not None or not self._waiters or self._from_host < 0:
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: its waiters are gone
            loop = self._waiters[0][1]
            loop.call_soon_threadsafe(self._adopt_reading, loop)

    def _adopt_reading(self, loop: asyncio.AbstractEventLoop) -> None:
        """In ``loop``: read the confirmations here, if nobody else does."""
        with self._cond:
            other = self._reader_loop
            if other is not None and other is not loop and not other.is_running():
                self._drop_reader_loop()  # stopped or closed: it reads no more
            if self._reader_loop is not None or self._from_host < 0:
                return
            self._reader_loop = loop
            loop.add_reader(self._from_host, self._on_readable)

    def _check_reading(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
        """A coroutine has waited a while: make sure someone reads the confirmations."""
        if future.done():
            return
        self._adopt_reading(loop)
        loop.call_later(_WAIT_SLICE, self._check_reading, loop, future)

    def _drop_reader_loop(self) -> None:
        loop = self._reader_loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(ValueError, OSError, RuntimeError):
                loop.remove_reader(self._from_host)
        self._reader_loop = None

    async def await_sent(self, ticket: int) -> None:
        """The async form of :meth:`wait_sent`: the event loop reads the confirmations."""
        loop = asyncio.get_running_loop()
        with self._cond:
            if self._confirmed >= ticket:
                error = self._outcome(ticket)
                if error is not None:
                    raise error
                return
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((ticket, loop, future))
        self._adopt_reading(loop)
        if self._reader_loop is loop:
            await future  # this loop reads the confirmations
            return
        timer = loop.call_later(_WAIT_SLICE, self._check_reading, loop, future)
        try:
            await future
        finally:
            timer.cancel()

    # -- syncing and closing -------------------------------------------------------------------

    def sync(self) -> None:
        """Block until everything sent so far is committed and synced to disk by the host."""
        with self._cond:
            if self._proc is None or self._to_host < 0:
                return
            self._sent += 1
            ticket = self._sent
            self._outgoing += IN_HEADER.pack(ticket, 0)  # an empty frame: a sync request
            self._write_some()
        self.wait_sent(ticket)

    def close(self) -> None:
        """Wait for every batch sent, then let the host write, sync and exit (waiting for it).
        The link is not used again."""
        with self._cond:
            if self._closed:
                return
        with contextlib.suppress(LogStoreError):
            self.wait_sent(self._sent)
        with self._cond:
            self._closed = True
            proc = self._proc
            if self._reader_loop is not None:
                self._drop_reader_loop()
            if self._to_host >= 0:
                os.close(self._to_host)
                self._to_host = -1
        if proc is not None:
            proc.wait()
        with self._cond:
            self._close_pipes()

    def __del__(self) -> None:
        # Dropped without close(): ending the host's input lets it write what it has and exit.
        for fd in (getattr(self, "_to_host", -1), getattr(self, "_from_host", -1)):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)


class HostedWrites:
    """What a store written through a log host has: its link (``None`` when opened with
    ``log_host=False``) and :meth:`log_pipeline` (the
    :class:`~lllm_domain.ports.PipelinedLogStore` port)."""

    _link: HostLink | None

    def log_pipeline(self) -> HostLink | None:
        """The way in through this store's log host, once it is ready to take batches (the
        first call starts it; ``None`` until then, and for good if ``log_host=False`` or the
        host cannot run: then everything is written in this process)."""
        link = self._link
        return link if link is not None and link.ready() else None


def host_link(spec: Mapping[str, Any], redactor: Redactor, name: str) -> HostLink:
    """A link to a log host for the store ``spec`` describes (named ``name``), redacting with
    ``redactor``'s secrets."""
    secrets = {"secrets": list(redactor.secrets), "placeholder": redactor.placeholder}
    return HostLink({**spec, **secrets}, name)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the awaiting coroutine was cancelled
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


_LIVE: weakref.WeakSet[HostLink] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A forked child must not talk to its parent's host: it starts its own on its first batch.
    for link in list(_LIVE):
        for fd in (link._to_host, link._from_host):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        link._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
