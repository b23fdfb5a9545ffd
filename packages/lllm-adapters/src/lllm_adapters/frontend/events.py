"""What every frontend adapter shares: the record of its UI events, and the ``silent()`` switch.

A frontend shows an event and appends one record to the ``frontend`` collection of the log store,
``{"event": <kind>, "path": [<enclosing container titles>], ...}``, so a replay can interleave
what the user saw with the dialogs. While silenced, nothing is shown but every event is still
recorded (with ``"silent": true``), as the original LLLM's ``silent()`` did.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lllm_domain.ports import LogStore

FRONTEND = "frontend"
"""The log collection frontend events go to."""


class _Silence:
    """How many ``silent()`` blocks are open; shared by a frontend and its nested containers."""

    __slots__ = ("depth",)

    def __init__(self) -> None:
        self.depth = 0


class EventLog:
    """Where one frontend (or one of its containers) records its events.

    ``path`` holds the titles of the enclosing containers (expanders, statuses). The silence
    switch is shared with every :meth:`nested` log, so silencing any level silences the whole
    screen the frontend belongs to.
    """

    __slots__ = ("_silence", "log", "path", "session")

    def __init__(
        self,
        log: LogStore | None,
        session: str,
        path: tuple[str, ...] = (),
        *,
        _silence: _Silence | None = None,
    ) -> None:
        self.log = log
        self.session = session
        self.path = path
        self._silence = _silence if _silence is not None else _Silence()

    def __repr__(self) -> str:
        return f"EventLog(session={self.session!r}, path={list(self.path)!r})"

    @property
    def showing(self) -> bool:
        """Whether events are displayed (``False`` inside :meth:`silent`)."""
        return self._silence.depth == 0

    def record(self, event: str, **fields: Any) -> None:
        """Append one event record (a no-op without a log store)."""
        if self.log is None:
            return
        record: Mapping[str, Any] = {"event": event, "path": list(self.path), **fields}
        if not self.showing:
            record = {**record, "silent": True}
        self.log.append(FRONTEND, self.session, record)

    def nested(self, title: str) -> EventLog:
        """The log of a container titled ``title`` inside this one (same store, session and
        silence switch)."""
        return EventLog(self.log, self.session, (*self.path, title), _silence=self._silence)

    @contextmanager
    def silent(self) -> Iterator[None]:
        """Display nothing while the block runs; events are still recorded. Blocks nest."""
        self._silence.depth += 1
        try:
            yield
        finally:
            self._silence.depth -= 1
