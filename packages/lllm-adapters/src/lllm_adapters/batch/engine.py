"""What every batch engine shares: its report, the job it is handed, and the ``run`` entry point
that checks the concurrency and hands one :class:`EngineJob` to the engine's own loop."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from attrs import define, field
from lllm_domain.batch import (
    BatchBudget,
    BatchProgress,
    BatchRow,
    NoProgress,
    ResultJournal,
    RowResult,
    RunnerFactory,
)
from lllm_domain.errors import ConfigError


@define(frozen=True, slots=True)
class RunReport:
    """What one run of an engine did: the results it recorded (in finishing order) and why it
    stopped launching rows early (``None``: it ran every row it was given)."""

    results: tuple[RowResult, ...]
    stopped: str | None = None
    requeued: int = 0
    """Rows sent to a worker that died before returning them, and so run again elsewhere."""


@define(frozen=True, slots=True)
class EngineJob:
    """One call of :meth:`BatchEngineBase.run`: the rows still to do, how to build a runner,
    where results go, the batch's name, who is shown progress and how many rows were done
    before."""

    rows: Sequence[BatchRow]
    factory: RunnerFactory
    journal: ResultJournal
    batch: str
    progress: BatchProgress
    already: int


@define(slots=True)
class BatchEngineBase(ABC):
    """The base of the engines: ``concurrency`` rows at once, new rows stopped by ``budget``."""

    concurrency: int = 16
    budget: BatchBudget = field(factory=BatchBudget)

    def __attrs_post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError(f"--concurrency must be at least 1, not {self.concurrency}")

    def run(
        self,
        rows: Sequence[BatchRow],
        factory: RunnerFactory,
        journal: ResultJournal,
        *,
        batch: str,
        progress: BatchProgress | None = None,
        already: int = 0,
    ) -> RunReport:
        """Run ``rows`` (those still to do) to the end, or until the budget stops new ones."""
        job = EngineJob(rows, factory, journal, batch, progress or NoProgress(), already)
        return self._run_job(job)

    @abstractmethod
    def _run_job(self, job: EngineJob) -> RunReport:
        """Run ``job`` with this engine."""
