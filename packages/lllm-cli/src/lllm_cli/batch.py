"""Batch runs from Python: the same thing ``lllm batch run`` does.

>>> from lllm_cli.batch import run_batch                                    # doctest: +SKIP
>>> run = run_batch("questions.jsonl", project="my_agent", concurrency=32)  # doctest: +SKIP
>>> run.summary.ok, run.results_path                                        # doctest: +SKIP

Each row of the input JSONL runs the project's system once (its ``task`` field is the task), or
one agent with one prompt (``agent=``, ``prompt=``: the row's fields are the prompt's
variables). Results go to a JSONL file and to the log store; running the same batch again skips
the rows already recorded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from attrs import define
from lllm_domain.batch import (
    BatchBudget,
    BatchProgress,
    BatchRow,
    BatchSummary,
    RowResult,
    parse_rows,
    pending_rows,
)
from lllm_domain.errors import BatchInputError
from lllm_domain.ports import LogStore

from lllm_cli.batch_runner import ProjectRunnerFactory
from lllm_cli.errors import CommandError

ENGINES = ("local", "ray")
"""The batch engines ``engine=`` accepts."""


@define(frozen=True, slots=True)
class BatchRun:
    """What :func:`run_batch` did: the batch's name, where its results are, the summary over
    every row of the input recorded so far, and the results this run recorded."""

    batch: str
    results_path: Path
    summary: BatchSummary
    recorded_now: tuple[RowResult, ...]
    skipped: int
    """Rows already recorded before this run (not run again)."""
    requeued: int = 0
    """Rows whose worker died under them (Ray), run again on another worker."""


def read_rows(path: str | os.PathLike[str]) -> list[BatchRow]:
    """The rows of an input JSONL file (a :class:`BatchInputError` names a bad line)."""
    source = Path(path)
    try:
        with source.open(encoding="utf-8") as handle:
            return list(parse_rows(handle, source=str(source)))
    except FileNotFoundError:
        raise BatchInputError("no such input file; pass a JSONL file", file=str(source)) from None
    except UnicodeDecodeError as exc:
        raise BatchInputError(f"not UTF-8 text ({exc})", file=str(source)) from None


def default_results_path(input_path: Path) -> Path:
    """``questions.jsonl`` → ``questions.results.jsonl`` beside it."""
    return input_path.with_name(input_path.stem + ".results.jsonl")


def run_batch(
    input_path: str | os.PathLike[str],
    *,
    project: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | None = None,
    model: str | None = None,
    agent: str | None = None,
    prompt: str | None = None,
    results: str | os.PathLike[str] | None = None,
    batch: str | None = None,
    engine: str = "local",
    address: str | None = None,
    concurrency: int = 16,
    max_cost: float | None = None,
    max_requests: int | None = None,
    retry_failed: bool = False,
    progress: BatchProgress | None = None,
    otel: bool | None = None,
) -> BatchRun:
    """Run (or resume) a batch; see the module docstring."""
    from lllm_adapters.batch import BatchJournal, LocalEngine, ResultsFile, StoreLedger

    from lllm_cli.composition import open_logs, with_model
    from lllm_cli.project import open_project

    if engine not in ENGINES:
        raise CommandError(f"--engine {engine!r} is unknown; use one of {', '.join(ENGINES)}")
    source = Path(input_path)
    rows = read_rows(source)
    opened = open_project(Path(project) if project is not None else None)
    opened.import_system_module()
    system_config = with_model(opened.load_system_config(Path(config) if config else None), model)
    name = batch or source.stem
    out = Path(results) if results is not None else default_results_path(source)
    store = open_logs(opened, system_config)
    ledger = StoreLedger(store, name) if store is not None else None
    journal = BatchJournal(ResultsFile(out), ledger)
    recorded = journal.recorded()
    todo = list(pending_rows(rows, recorded, retry_failed=retry_failed))
    budget = BatchBudget(max_cost_usd=max_cost, max_requests=max_requests)
    factory = ProjectRunnerFactory(
        project=str(opened.root),
        config=str(Path(config).resolve()) if config else None,
        model=model,
        agent=agent,
        prompt=prompt,
        threads=concurrency,
        otel=otel,
    )
    if ledger is not None:
        ledger.start_run(
            {
                "input": str(source.resolve()),
                "results": str(out.resolve()),
                "rows": len(rows),
                "engine": engine,
                "concurrency": concurrency,
                "system": system_config.name,
            }
        )
    in_input = {row.key for row in rows}
    already = sum(1 for key in recorded if key in in_input) - (len(todo) if retry_failed else 0)
    if engine == "ray":
        from lllm_adapters.batch.ray_engine import RayEngine

        report = RayEngine(concurrency=concurrency, budget=budget, address=address).run(
            todo, factory, journal, batch=name, progress=progress, already=already
        )
    else:
        report = LocalEngine(concurrency=concurrency, budget=budget).run(
            todo, factory, journal, batch=name, progress=progress, already=already
        )
    final = {**recorded, **{r.key: r for r in report.results}}
    mine = [final[row.key] for row in rows if row.key in final]
    summary = BatchSummary.of(mine, stopped=report.stopped, pending=len(rows) - len(mine))
    return BatchRun(
        name, out, summary, report.results, skipped=max(0, already), requeued=report.requeued
    )


def batch_results(store: LogStore, batch: str) -> tuple[dict[str, object], list[RowResult]]:
    """A batch's latest run record and its recorded results, from the log store."""
    from lllm_adapters.batch import StoreLedger

    records = StoreLedger(store, batch).read()
    return dict(records.run), list(records.results.values())


def summarize(results: Sequence[RowResult], total: int | None = None) -> BatchSummary:
    """The summary of recorded results (``total``: the input's row count, for ``not run``)."""
    return BatchSummary.of(results, pending=max(0, (total or 0) - len(results)))
