"""An in-memory :class:`lllm_domain.ports.LogStore` for tests of the domain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lllm_domain.ports import LogRecord


class MemoryLogStore:
    """Keeps records in dicts keyed by (collection, session); time is a counter, not a clock.

    Records are copied on append so a test sees what was written, not a later mutation.
    """

    def __init__(self) -> None:
        self._records: dict[tuple[str, str], list[LogRecord]] = {}
        self._order: list[str] = []

    def append(self, collection: str, session: str, data: Mapping[str, Any]) -> None:
        """Store one record."""
        bucket = self._records.setdefault((collection, session), [])
        bucket.append(LogRecord(len(bucket), float(len(bucket)), dict(data)))
        if session not in self._order:
            self._order.append(session)

    def append_many(
        self, collection: str, session: str, records: Sequence[Mapping[str, Any]]
    ) -> None:
        """Store several records, in order."""
        for data in records:
            self.append(collection, session, data)

    def read(self, collection: str, session: str) -> list[LogRecord]:
        """Every record of (collection, session), oldest first."""
        return list(self._records.get((collection, session), ()))

    def sessions(self) -> list[str]:
        """Sessions with at least one record, in order of first write."""
        return list(self._order)

    def collections(self) -> list[str]:
        """Every collection written to (a test convenience beyond the port)."""
        return sorted({c for c, _ in self._records})
