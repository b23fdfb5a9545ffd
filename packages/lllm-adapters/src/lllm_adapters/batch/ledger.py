"""A batch's records in the log store: one ``batch`` collection session per batch, holding a
``run`` record per run (the input, its row count) and a ``row`` record per recorded result, so
``lllm batch status`` and ``lllm batch report`` work from any shell that sees the store."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import define
from lllm_domain.batch import RowResult
from lllm_domain.log_writer import writer_for
from lllm_domain.ports import LogEntry, LogStore

BATCH_COLLECTION = "batch"
"""The log collection of batch records."""


def ledger_session(batch: str) -> str:
    """The store session holding a batch's records."""
    return f"batch:{batch}"


@define(frozen=True, slots=True)
class BatchRecords:
    """What the store holds about one batch: its latest ``run`` record and its results."""

    run: Mapping[str, Any]
    results: dict[str, RowResult]


class StoreLedger:
    """Writes and reads one batch's records in ``store``."""

    def __init__(self, store: LogStore, batch: str) -> None:
        self.store = store
        self.batch = batch
        self.session = ledger_session(batch)

    def recorded(self) -> dict[str, RowResult]:
        """Every result recorded in the store, by key (the last one of a key wins)."""
        return self.read().results

    def read(self) -> BatchRecords:
        """The batch's latest run record and results."""
        run: Mapping[str, Any] = {}
        results: dict[str, RowResult] = {}
        for record in self.store.read(BATCH_COLLECTION, self.session):
            data = record.data
            if data.get("event") == "row":
                result = RowResult.from_data(data)
                results[result.key] = result
            elif data.get("event") == "run":
                run = data
        return BatchRecords(run, results)

    def record(self, results: Sequence[RowResult]) -> None:
        """Store ``results`` (after every record handed to the store's writer before them)."""
        if not results:
            return
        entries = [
            LogEntry(BATCH_COLLECTION, self.session, {"event": "row", **r.to_data()})
            for r in results
        ]
        writer_for(self.store).flush(entries)

    def start_run(self, info: Mapping[str, Any]) -> None:
        """Record that a run of the batch started (input, rows, engine, ...)."""
        data = {"event": "run", "batch": self.batch, "started_at": time.time(), **info}
        writer_for(self.store).flush([LogEntry(BATCH_COLLECTION, self.session, data)])


def batches(store: LogStore) -> list[str]:
    """The names of the batches ``store`` holds records of."""
    prefix = "batch:"
    return sorted(s[len(prefix) :] for s in store.sessions() if s.startswith(prefix))
