"""The log store that keeps nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lllm_domain.ports import LogEntry, LogRecord


class NoLog:
    """A log store that discards every record (log type ``none``)."""

    def __repr__(self) -> str:
        return "NoLog()"

    def append(self, collection: str, session: str, data: Mapping[str, Any]) -> None:
        """Discard ``data``."""

    def append_many(
        self, collection: str, session: str, records: Sequence[Mapping[str, Any]]
    ) -> None:
        """Discard ``records``."""

    def append_entries(self, entries: Sequence[LogEntry]) -> None:
        """Discard ``entries``."""

    def read(self, collection: str, session: str) -> list[LogRecord]:
        """Nothing was kept: always empty."""
        return []

    def sessions(self) -> list[str]:
        """Nothing was kept: always empty."""
        return []
