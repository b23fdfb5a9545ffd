"""Warnings while a streamed reply is silent.

The read timeout of a stream is long (600 s by default: reasoning models think for minutes before
their first token), so a stalled server would otherwise keep a user waiting for ten minutes
without a word. A :class:`SilenceMonitor` watches the open streams of one caller from a single
daemon thread (started on the first stream, ended when none is open) and logs the structlog
warning ``openai.stream_silent`` each time a stream has received nothing for another
``threshold`` seconds. The stream itself goes on: only the read timeout ends it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lllm_adapters.observability.lazy_logger import get_logger

_log = get_logger("lllm.openai")

SILENT_EVENT = "openai.stream_silent"
"""The event name of the warning."""


class StreamWatch:
    """When one stream last received bytes, and how often its current silence was reported."""

    __slots__ = ("_clock", "last", "warned", "where")

    def __init__(self, where: str, clock: Callable[[], float]) -> None:
        self.where = where
        self._clock = clock
        self.last = clock()
        """Monotonic time of the last bytes (or of the request, before any)."""
        self.warned = 0
        """Warnings given since ``last``."""

    def touch(self) -> None:
        """Bytes arrived: the silence, if any, is over."""
        self.last = self._clock()
        self.warned = 0

    def due(self, threshold: float) -> float:
        """When the next warning is due (monotonic time)."""
        return self.last + threshold * (self.warned + 1)


class SilenceMonitor:
    """Logs ``openai.stream_silent`` for every open stream silent for ``threshold`` seconds
    (then again after each further ``threshold``), naming the endpoint, the silence so far and
    the ``read_timeout`` that will end it."""

    def __init__(
        self,
        threshold: float,
        read_timeout: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.read_timeout = read_timeout
        self._clock = clock
        self._watches: set[StreamWatch] = set()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, where: str) -> Iterator[StreamWatch]:
        """Watch one stream to ``where`` while the block runs; call ``touch()`` on the yielded
        watch whenever bytes arrive."""
        watch = StreamWatch(where, self._clock)
        with self._wake:
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="lllm-openai-silence", daemon=True
                )
                self._thread.start()
            self._wake.notify()
        try:
            yield watch
        finally:
            with self._wake:
                self._watches.discard(watch)
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._watches:
                    self._thread = None
                    return
                now = self._clock()
                late = [w for w in self._watches if w.due(self.threshold) <= now]
                for watch in late:
                    watch.warned += 1
                if not late:
                    earliest = min(w.due(self.threshold) for w in self._watches)
                    self._wake.wait(max(earliest - now, 0.01))
                    continue
            for watch in late:
                # Logged outside the lock: a slow log sink must not hold up the streams.
                _log.warning(
                    SILENT_EVENT,
                    endpoint=watch.where,
                    silent_for=round(now - watch.last, 1),
                    read_timeout=self.read_timeout,
                    note="the server has sent nothing; still waiting, the request fails when "
                    "read_timeout passes without data (OpenAISettings.read_timeout)",
                )
