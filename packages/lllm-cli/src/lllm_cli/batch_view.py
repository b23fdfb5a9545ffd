"""How a batch looks on the terminal: a live progress bar and the end-of-run summary table."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from lllm_domain.batch import BatchSummary, RowResult


class ProgressBar:
    """A :class:`~lllm_domain.batch.BatchProgress` drawn with rich: rows done of total, failed,
    rows per second, ETA and the dollars spent so far. Off a terminal it prints nothing live
    (the summary still follows)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.console = Console(file=stream or sys.stderr)
        self.progress = Progress(
            TextColumn("batch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("· {task.fields[failed]} failed · {task.fields[rate]} rows/s"),
            TextColumn("· ${task.fields[cost]:.4f}"),
            TextColumn("· ETA"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._task: Any = None
        self.failed = 0
        self.done = 0
        self.cost = 0.0
        self._start = time.monotonic()

    def started(self, total: int, already: int) -> None:
        """Show the bar (``already`` recorded rows count as done)."""
        self._start = time.monotonic()
        self._task = self.progress.add_task(
            "batch", total=total + already, completed=already, failed=0, rate="0.0", cost=0.0
        )
        if self.console.is_terminal:
            self.progress.start()

    def finished_row(self, result: RowResult) -> None:
        """Advance the bar by one row."""
        self.done += 1
        self.failed += 0 if result.ok else 1
        self.cost += result.cost_usd
        rate = self.done / max(time.monotonic() - self._start, 1e-9)
        self.progress.update(
            self._task, advance=1, failed=self.failed, rate=f"{rate:.1f}", cost=self.cost
        )

    def stop(self) -> None:
        """Stop redrawing (leaves the last frame on screen)."""
        if self.console.is_terminal:
            self.progress.stop()


def print_summary(summary: BatchSummary, *, title: str, stream: TextIO | None = None) -> None:
    """The summary as a two-column table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    for label, value in summary.lines():
        table.add_row(label, value)
    Console(file=stream or sys.stdout, width=100).print(table)
