"""A wrapper that removes secrets from records before another log store sees them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrs import evolve
from lllm_domain.log_writer import write_entries
from lllm_domain.ports import LogEntry, LogRecord, LogStore

from lllm_adapters.observability.redaction import Redactor


class RedactingLogStore:
    """Redacts every record, then hands it to ``inner``.

    The stores in this package already redact what they write; wrap your own stores (or a
    store built with a different redactor) with this.
    """

    def __init__(self, inner: LogStore, redactor: Redactor | None = None) -> None:
        self.inner = inner
        self.redactor = redactor if redactor is not None else Redactor.from_environment()

    def __repr__(self) -> str:
        return f"RedactingLogStore({self.inner!r})"

    def append(self, collection: str, session: str, data: Mapping[str, Any]) -> None:
        """Store a redacted copy of ``data``."""
        self.inner.append(collection, session, self.redactor.redact(data))

    def append_many(
        self, collection: str, session: str, records: Sequence[Mapping[str, Any]]
    ) -> None:
        """Store redacted copies of ``records``."""
        self.inner.append_many(collection, session, [self.redactor.redact(r) for r in records])

    def append_entries(self, entries: Sequence[LogEntry]) -> None:
        """Store redacted copies of ``entries`` (at once when ``inner`` can)."""
        write_entries(
            self.inner,
            [evolve(e, data=self.redactor.redact(e.data)) for e in entries],
        )

    def read(self, collection: str, session: str) -> list[LogRecord]:
        """The inner store's records."""
        return self.inner.read(collection, session)

    def sessions(self) -> list[str]:
        """The inner store's sessions."""
        return self.inner.sessions()
