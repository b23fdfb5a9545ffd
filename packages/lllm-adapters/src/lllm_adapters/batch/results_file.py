"""The results JSONL file: append-only, each write synced to disk before it counts.

A crash can only tear the last line (a write cut short); opening the file cuts such a tail off
before anything is appended, so a torn line never hides a later one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lllm_domain.batch import RowResult, encode_result, recover_results
from lllm_domain.errors import BatchError


class ResultsFile:
    """``path`` as a results file (created on first write, with its folder)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.torn_bytes = 0
        """Bytes of a torn last line cut off when the file was read."""

    def recorded(self) -> dict[str, RowResult]:
        """Every result in the file by key (a torn last line is cut off the file)."""
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise BatchError(
                f"cannot read the results file {self.path}: {exc}; fix its permissions or "
                "pass another --results path"
            ) from None
        recovered = recover_results(content)
        if recovered.torn:
            self.torn_bytes = len(content) - recovered.good_bytes
            with self.path.open("r+b") as handle:
                handle.truncate(recovered.good_bytes)
                handle.flush()
                os.fsync(handle.fileno())
        return recovered.results

    def record(self, results: Sequence[RowResult]) -> None:
        """Append ``results`` and sync them to disk."""
        if not results:
            return
        data = b"".join(encode_result(r) for r in results)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise BatchError(
                f"cannot write the results file {self.path}: {exc}; fix its folder or pass "
                "another --results path"
            ) from None
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
