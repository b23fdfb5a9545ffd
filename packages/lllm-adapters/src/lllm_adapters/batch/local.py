"""The local engine: one process, asyncio, at most ``concurrency`` rows at a time.

Results are group-committed: whatever rows finished while the previous write was syncing are
written (file, then store) in one go, and a row's slot is freed only once its result is durable.
So a crash re-runs at most ``concurrency`` rows, and never records one twice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence

from attrs import define, field
from lllm_domain.batch import (
    BatchBudget,
    BatchProgress,
    BatchRow,
    BatchSpend,
    NoProgress,
    ResultJournal,
    RowOutcome,
    RowResult,
    RowRunner,
    RowStatus,
    RunnerFactory,
    budget_stop,
    session_name,
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


def to_result(row: BatchRow, session: str, outcome: RowOutcome, latency: float) -> RowResult:
    """A row's result from its outcome."""
    return RowResult(
        key=row.key,
        status=RowStatus.FAILED if outcome.error_type else RowStatus.OK,
        session=session,
        output=outcome.output,
        error_type=outcome.error_type,
        error_message=outcome.error_message,
        usage=outcome.usage,
        cost_usd=outcome.cost_usd,
        requests=outcome.requests,
        latency=latency,
        agent=outcome.agent,
        finished_at=time.time(),
    )


async def run_one(runner: RowRunner, row: BatchRow, batch: str) -> RowResult:
    """Run one row; an exception the runner let through fails the row, not the batch."""
    session = session_name(batch, row.key)
    start = time.perf_counter()
    try:
        outcome = await runner.run(row, session)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        outcome = RowOutcome(error_type=type(exc).__name__, error_message=str(exc))
    return to_result(row, session, outcome, time.perf_counter() - start)


class _GroupCommit:
    """Writes finished results in groups, one write at a time, off the event loop."""

    def __init__(self, journal: ResultJournal) -> None:
        self.journal = journal
        self._queue: list[tuple[RowResult, asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def commit(self, result: RowResult) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((result, future))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._drain())
        await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._queue:
            group, self._queue = self._queue, []
            try:
                await asyncio.to_thread(self.journal.record, [r for r, _ in group])
            except BaseException as exc:
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for _, future in group:
                if not future.done():
                    future.set_result(None)


@define(slots=True)
class LocalEngine:
    """Runs a batch in this process with the runner's async callers."""

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
        return asyncio.run(
            self.arun(rows, factory, journal, batch=batch, progress=progress, already=already)
        )

    async def arun(
        self,
        rows: Iterable[BatchRow],
        factory: RunnerFactory,
        journal: ResultJournal,
        *,
        batch: str,
        progress: BatchProgress | None = None,
        already: int = 0,
    ) -> RunReport:
        """The async form of :meth:`run`."""
        todo = list(rows)
        shown = progress or NoProgress()
        shown.started(len(todo), already)
        runner = factory()
        commits = _GroupCommit(journal)
        slots = asyncio.Semaphore(self.concurrency)
        done: list[RowResult] = []
        spend = BatchSpend()
        stopped: str | None = None
        tasks: set[asyncio.Task[None]] = set()

        async def one(row: BatchRow) -> None:
            nonlocal spend
            try:
                result = await run_one(runner, row, batch)
                await commits.commit(result)
                spend = spend.plus(result.cost_usd, result.requests)
                done.append(result)
                shown.finished_row(result)
            finally:
                slots.release()

        try:
            for row in todo:
                await slots.acquire()
                stopped = budget_stop(spend, self.budget)
                if stopped is not None:
                    slots.release()
                    break
                task = asyncio.create_task(one(row))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            await runner.aclose()
        return RunReport(tuple(done), stopped)
