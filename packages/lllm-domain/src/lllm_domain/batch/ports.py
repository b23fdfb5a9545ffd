"""The batch's ports: what runs one row, and where results are recorded.

An engine (``lllm_adapters.batch``: local asyncio, Ray) asks a :class:`RunnerFactory` for a
:class:`RowRunner` once per worker — that is where callers with pooled connections and stores
are built — and hands it rows; a :class:`ResultJournal` records each row's result exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from attrs import define, field

from lllm_domain.batch.results import RowResult
from lllm_domain.batch.rows import BatchRow
from lllm_domain.usage import Usage


@define(frozen=True, slots=True)
class RowOutcome:
    """What running one row gave: its output, or the error that ended it (type and message),
    and what it spent."""

    output: Any = None
    error_type: str | None = None
    error_message: str | None = None
    usage: Usage = field(factory=Usage)
    cost_usd: float = 0.0
    requests: int = 0
    agent: str | None = None


class RowRunner(Protocol):
    """Runs rows in one worker (built once, used for many rows, closed at the end)."""

    async def run(self, row: BatchRow, session: str) -> RowOutcome:
        """Run ``row``, logging its dialogs under ``session``. A failure of the row is an
        outcome with ``error_type`` set, not an exception."""
        ...

    async def aclose(self) -> None:
        """Release what the runner opened (connections, log writers)."""
        ...


class RunnerFactory(Protocol):
    """Builds a worker's :class:`RowRunner` (picklable, so a cluster engine can ship it)."""

    def __call__(self) -> RowRunner:
        """A new runner."""
        ...


class ResultJournal(Protocol):
    """Where a batch's results are recorded, exactly once per row key (the last record of a
    key wins: a ``--retry-failed`` run records a row again)."""

    def recorded(self) -> dict[str, RowResult]:
        """Every recorded result by key."""
        ...

    def record(self, results: Sequence[RowResult]) -> None:
        """Record ``results`` durably before returning."""
        ...


class BatchProgress(Protocol):
    """Told about a run as it goes (a progress bar; the default shows nothing)."""

    def started(self, total: int, already: int) -> None:
        """``total`` rows will run; ``already`` rows of the input were recorded before."""
        ...

    def finished_row(self, result: RowResult) -> None:
        """One row's result was recorded."""
        ...


class NoProgress:
    """A :class:`BatchProgress` that shows nothing."""

    def started(self, total: int, already: int) -> None:
        """Ignore."""

    def finished_row(self, result: RowResult) -> None:
        """Ignore."""
