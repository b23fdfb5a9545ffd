"""Recording a batch's results in both places, exactly once per key: the results file (the
user's output) and the log store (for ``status`` and ``report`` from anywhere)."""

from __future__ import annotations

from collections.abc import Sequence

from lllm_domain.batch import RowResult

from lllm_adapters.batch.ledger import StoreLedger
from lllm_adapters.batch.results_file import ResultsFile


class BatchJournal:
    """A :class:`~lllm_domain.batch.ResultJournal` over a results file and, optionally, a log
    store. A result is written to the file (synced) first, then to the store; a crash between
    the two is repaired by :meth:`recorded`, which copies what one side lacks to the other."""

    def __init__(self, file: ResultsFile, ledger: StoreLedger | None = None) -> None:
        self.file = file
        self.ledger = ledger

    def recorded(self) -> dict[str, RowResult]:
        """Every recorded result by key, after making the file and the store agree."""
        in_file = self.file.recorded()
        if self.ledger is None:
            return in_file
        in_store = self.ledger.recorded()
        # Compared by finish time: the store may hold a redacted copy of the same result.
        self.ledger.record(
            [r for k, r in in_file.items() if _finished(in_store.get(k)) != r.finished_at]
        )
        missing = [r for k, r in in_store.items() if k not in in_file]
        self.file.record(missing)
        return {**in_store, **in_file}

    def record(self, results: Sequence[RowResult]) -> None:
        """Record ``results`` in the file, then in the store."""
        self.file.record(results)
        if self.ledger is not None:
            self.ledger.record(results)


def _finished(result: RowResult | None) -> float | None:
    return None if result is None else result.finished_at
