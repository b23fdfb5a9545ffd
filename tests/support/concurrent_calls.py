"""Pretend several async agent calls log to one store at once (what makes its log writer send
their records to the store's log host)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from lllm_domain.log_writer import LogWriter


@contextmanager
def concurrent_calls(writer: LogWriter, count: int = 2) -> Iterator[None]:
    """``count`` calls are running on ``writer``'s store for the duration of the block."""
    for _ in range(count):
        writer.call_started()
    try:
        yield
    finally:
        for _ in range(count):
            writer.call_ended()
