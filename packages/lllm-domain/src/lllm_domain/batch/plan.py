"""Which rows a run launches, and what each row's session is called."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping

from lllm_domain.batch.results import RowResult
from lllm_domain.batch.rows import BatchRow


def pending_rows(
    rows: Iterable[BatchRow], recorded: Mapping[str, RowResult], *, retry_failed: bool = False
) -> Iterator[BatchRow]:
    """The rows to run: those without a recorded result, or (``retry_failed``) only those whose
    recorded result failed."""
    for row in rows:
        done = recorded.get(row.key)
        if retry_failed:
            if done is not None and not done.ok:
                yield row
        elif done is None:
            yield row


def session_name(batch: str, key: str, attempt: str | None = None) -> str:
    """The log-store session of one attempt at a row: the batch, the row key and a random
    suffix (an attempt cut short by a crash keeps its partial session; the result names the
    session of the attempt that was recorded)."""
    return f"{batch}/{key}/{attempt or os.urandom(3).hex()}"
