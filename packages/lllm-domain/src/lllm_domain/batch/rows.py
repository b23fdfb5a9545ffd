"""Batch rows: one JSON object per input line, each with a stable key.

A row's key is its ``id`` field (as text) when it has one, else a hash of the row's canonical
JSON (sorted keys, no spaces), so the same row gets the same key in every run and on every
machine: resume and exactly-once recording are decided by key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from attrs import define, field

from lllm_domain.errors import BatchInputError

KEY_FIELD = "id"
"""The row field that names a row's key."""

TASK_FIELD = "task"
"""The row field a system's task comes from (the other fields are the task's variables)."""


def row_key(fields: Mapping[str, Any]) -> str:
    """The stable key of a row: its ``id`` field, else ``h-`` and 16 hex digits of the SHA-256
    of its canonical JSON."""
    given = fields.get(KEY_FIELD)
    if given is not None and given != "":
        return str(given)
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "h-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@define(frozen=True, slots=True)
class BatchRow:
    """One row of a batch: its key, its position in the input (1-based line) and its fields."""

    key: str
    line: int
    fields: Mapping[str, Any] = field(repr=False)

    @property
    def variables(self) -> dict[str, Any]:
        """The fields a task uses as its variables (every field but ``id``)."""
        return {k: v for k, v in self.fields.items() if k != KEY_FIELD}


def parse_rows(lines: Iterable[str], *, source: str = "<input>") -> Iterator[BatchRow]:
    """The rows of JSONL text (blank lines skipped). A line that is not a JSON object, or a key
    seen on an earlier line, raises :class:`BatchInputError` naming ``source`` and the line."""
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise BatchInputError(
                f"not valid JSON ({exc}); each line must be one JSON object such as "
                '{"id": "q1", "task": "..."}',
                file=source,
                line=number,
            ) from None
        if not isinstance(value, dict):
            raise BatchInputError(
                f"a JSON {type(value).__name__} is not a row; each line must be one JSON object",
                file=source,
                line=number,
            )
        key = row_key(value)
        if key in seen:
            raise BatchInputError(
                f"row key {key!r} repeats line {seen[key]}; give each row a distinct 'id' "
                "(identical rows without an id share their hash)",
                file=source,
                line=number,
            )
        seen[key] = number
        yield BatchRow(key, number, value)
