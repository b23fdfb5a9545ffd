"""What the database log stores (SQLite, PostgreSQL) share: encoding each record into a row
(collection, session name, time, redacted JSON data) for every way of appending, closing after
the log writer has flushed, and reading back a session by the redacted name ``sessions()`` lists.
Each store supplies only how rows are inserted (atomically) and how its connection closes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

from lllm_domain.ports import LogEntry, LogRecord

from lllm_adapters.logs.record_codec import LogStoreError, encode_data
from lllm_adapters.observability.redaction import Redactor

EncodedRow = tuple[str, str, float, bytes]
"""One record ready to insert: collection, session name, time and redacted JSON data."""


def sole_key(session: str, keys: Sequence[tuple[Any, ...]]) -> Any | None:
    """The key of the one session listed under the redacted name ``session`` (the first column
    of ``keys``, the rows found for that name), ``None`` if none is; several are ambiguous and a
    :class:`LogStoreError`."""
    if len(keys) > 1:
        raise LogStoreError(
            f"{len(keys)} sessions are listed as {session!r} (their names held "
            "secrets); read them by their real names"
        )
    return keys[0][0] if keys else None


class DatabaseLogStore(ABC):
    """The writing and closing half of a database log store (implements the ``LogStore``
    appends); a subclass sets ``_redactor`` and ``_clock`` and implements :meth:`_insert` and
    :meth:`_close`."""

    _redactor: Redactor
    _clock: Callable[[], float]

    @abstractmethod
    def _insert(self, collection: str, session: str, rows: Sequence[EncodedRow]) -> None:
        """Store ``rows`` atomically (``collection`` and ``session``, those of the first row,
        name the records in an error)."""

    @abstractmethod
    def read(self, collection: str, session: str) -> list[LogRecord]:
        """Every record of (collection, session), in the order appended."""

    @abstractmethod
    def sessions(self) -> list[str]:
        """The names of every session with at least one record, sorted."""

    @abstractmethod
    def _close(self) -> None:
        """Close the connection (further use raises)."""

    def append(self, collection: str, session: str, data: Mapping[str, Any]) -> None:
        """Store one record, committed when this returns."""
        body = encode_data(collection, session, data, self._redactor)
        self._insert(collection, session, [(collection, session, self._clock(), body)])

    def append_many(
        self, collection: str, session: str, records: Sequence[Mapping[str, Any]]
    ) -> None:
        """Store several records at once: all of them or none."""
        if not records:
            return
        now = self._clock()
        rows = [
            (collection, session, now, encode_data(collection, session, r, self._redactor))
            for r in records
        ]
        self._insert(collection, session, rows)

    def append_entries(self, entries: Sequence[LogEntry]) -> None:
        """Store records of any collections and sessions at once (one commit): all of them or
        none, each with the time it was made. The log writer commits each turn's records this
        way."""
        if entries:
            self._insert(entries[0].collection, entries[0].session, self._encode(entries))

    def _encode(self, entries: Sequence[LogEntry]) -> list[EncodedRow]:
        """The rows of ``entries``, each with the time it was made."""
        return [
            (
                e.collection,
                e.session,
                e.time,
                encode_data(e.collection, e.session, e.data, self._redactor),
            )
            for e in entries
        ]

    def close(self) -> None:
        """Write the records already handed to this store's log writer, then close the
        connection (further use raises)."""
        from lllm_domain.log_writer import writer_for

        writer_for(self).flush()
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
