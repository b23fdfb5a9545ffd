"""`lllm batch`: run a system over the rows of a JSONL file, watch a batch, report on it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from lllm_cli.commands.options import ConfigOption, LogSource, ProjectOption
from lllm_cli.errors import CommandError


def run(
    input_path: Annotated[Path, Parameter(name="INPUT")],
    *,
    project: ProjectOption = None,
    config: ConfigOption = None,
    model: Annotated[str | None, Parameter(name=["--model", "-m"])] = None,
    agent: str | None = None,
    prompt: str | None = None,
    results: Path | None = None,
    batch: str | None = None,
    engine: Literal["local", "ray"] = "local",
    address: str | None = None,
    concurrency: int = 16,
    max_cost: float | None = None,
    max_requests: int | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    otel: bool | None = None,
) -> int:
    """Run the project's system once per row of INPUT (JSONL), resumably.

    Each row's ``task`` field is the task (its other fields, but ``id``, are passed to the
    system); with --agent and --prompt, that agent answers that prompt with the row's fields as
    its variables. A row's key is its ``id`` field, else a hash of the row. Results are appended
    to a JSONL file and recorded in the log store, each row's dialog as a session; running the
    same command again skips the rows already recorded.

    Parameters
    ----------
    input_path
        The rows: one JSON object per line.
    model
        A model name for every agent, or "scripted" for the offline scripted model.
    agent
        Run this agent of the system config on each row instead of the system (needs --prompt).
    prompt
        The prompt path --agent answers, e.g. "weather/task".
    results
        The results JSONL (default: INPUT's name with .results.jsonl).
    batch
        The batch's name in the log store (default: INPUT's file name without extension).
    engine
        "local" (this process, asyncio) or "ray" (a Ray cluster; pip install "lllm-adapters[ray]").
    address
        With --engine ray: the cluster's address (default: start a local Ray for the run).
    concurrency
        Rows running at the same time.
    max_cost
        Stop launching rows once the batch has spent this many US dollars.
    max_requests
        Stop launching rows once the batch has made this many model requests.
    retry_failed
        Run only the rows whose recorded result failed.
    progress
        Show a live progress bar on a terminal (--no-progress hides it).
    otel
        Trace every row with OpenTelemetry (an ``invoke_workflow`` span per row carrying its
        session id), exported with OTLP/HTTP where the standard OTEL_* variables say (default:
        [tracing] otel in lllm.toml, else off).
    """
    from lllm_cli.batch import run_batch
    from lllm_cli.batch_view import ProgressBar, print_summary
    from lllm_cli.composition import configure_cli_logging

    if (agent is None) != (prompt is None):
        raise CommandError("--agent and --prompt go together: the agent and the prompt it fills")
    configure_cli_logging()
    bar = ProgressBar() if progress else None
    try:
        done = run_batch(
            input_path,
            project=project,
            config=config,
            model=model,
            agent=agent,
            prompt=prompt,
            results=results,
            batch=batch,
            engine=engine,
            address=address,
            concurrency=concurrency,
            max_cost=max_cost,
            max_requests=max_requests,
            retry_failed=retry_failed,
            progress=bar,
            otel=otel,
        )
    finally:
        if bar is not None:
            bar.stop()
    summary = done.summary
    print(
        f"batch {done.batch}: {len(done.recorded_now)} rows run now, {done.skipped} already "
        f"recorded; results: {done.results_path}"
    )
    print_summary(summary, title=f"batch {done.batch}")
    if summary.stopped:
        print(summary.stopped)
    if summary.failed:
        print(
            f"{summary.failed} rows failed; run them again with: lllm batch run "
            f"{input_path} --retry-failed"
        )
    return 0


def status(
    batch: str | None = None,
    *,
    project: ProjectOption = None,
    config: ConfigOption = None,
) -> int:
    """Show a batch's progress from the log store (any shell, while it runs or after).

    Parameters
    ----------
    batch
        The batch name (default: list the batches in the log store).
    """
    from lllm_adapters.batch import batches

    from lllm_cli.batch import batch_results, summarize
    from lllm_cli.batch_view import print_summary
    from lllm_cli.commands.logs import _store

    store = _store(LogSource(project, config))
    known = batches(store)
    if batch is None:
        if not known:
            print("no batches in the log store yet (start one with `lllm batch run ROWS.jsonl`)")
            return 0
        for name in known:
            print(name)
        return 0
    if batch not in known:
        import difflib

        close = difflib.get_close_matches(batch, known, n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise CommandError(
            f"no batch {batch!r} in the log store{hint} (list them with `lllm batch status`)"
        )
    run, results = batch_results(store, batch)
    total = run.get("rows")
    summary = summarize(results, int(total) if isinstance(total, int) else None)
    done = summary.rows
    of = f" of {total}" if isinstance(total, int) else ""
    print(f"batch {batch}: {done}{of} rows recorded · {summary.ok} ok · {summary.failed} failed")
    print_summary(summary, title=f"batch {batch}")
    return 0


def report(
    batch: str,
    *,
    html: Path | None = None,
    project: ProjectOption = None,
    config: ConfigOption = None,
) -> int:
    """Write one self-contained HTML page about a batch: status counts, latencies, cost and
    tokens per row and per agent, errors by type with example rows and their timelines.

    Parameters
    ----------
    batch
        The batch name (list them with `lllm batch status`).
    html
        The page to write (default: BATCH.html in the current folder).
    """
    from lllm_adapters.batch import batches

    from lllm_cli.batch_report import write_report
    from lllm_cli.commands.logs import _store

    store = _store(LogSource(project, config))
    if batch not in batches(store):
        raise CommandError(
            f"no batch {batch!r} in the log store (list them with `lllm batch status`)"
        )
    target = html or Path(f"{_safe(batch)}.html")
    write_report(store, batch, target)
    print(f"wrote {target}", file=sys.stdout)
    return 0


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "batch"
