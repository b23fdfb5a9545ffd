"""What a batch records per row, and how a results file is read back after a crash."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any

from attrs import define, field

from lllm_domain.usage import Usage


class RowStatus(enum.Enum):
    """How a row ended."""

    OK = "ok"
    FAILED = "failed"


@define(frozen=True, slots=True)
class RowResult:
    """One row's recorded outcome: a line of the results JSONL and a record in the log store.

    ``output`` is the system's (parsed) result for an ``ok`` row; ``error_type`` and
    ``error_message`` say why a ``failed`` row failed; ``session`` is the log-store session
    holding the row's dialogs. ``requests`` counts its model requests.
    """

    key: str
    status: RowStatus
    session: str
    output: Any = None
    error_type: str | None = None
    error_message: str | None = None
    usage: Usage = field(factory=Usage)
    cost_usd: float = 0.0
    requests: int = 0
    latency: float = 0.0
    agent: str | None = None
    finished_at: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the row succeeded."""
        return self.status is RowStatus.OK

    def to_data(self) -> dict[str, Any]:
        """Plain JSON-able data (one results line)."""
        return {
            "key": self.key,
            "status": self.status.value,
            "output": self.output,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "usage": {
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
                "cached_input_tokens": self.usage.cached_input_tokens,
                "reasoning_tokens": self.usage.reasoning_tokens,
            },
            "cost_usd": self.cost_usd,
            "requests": self.requests,
            "latency": self.latency,
            "session": self.session,
            "agent": self.agent,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> RowResult:
        """Back from :meth:`to_data`'s form (unknown fields are ignored)."""
        usage = data.get("usage") or {}
        return cls(
            key=str(data["key"]),
            status=RowStatus(data["status"]),
            session=str(data.get("session") or ""),
            output=data.get("output"),
            error_type=data.get("error_type"),
            error_message=data.get("error_message"),
            usage=Usage(
                int(usage.get("input_tokens", 0)),
                int(usage.get("output_tokens", 0)),
                int(usage.get("cached_input_tokens", 0)),
                int(usage.get("reasoning_tokens", 0)),
            ),
            cost_usd=float(data.get("cost_usd") or 0.0),
            requests=int(data.get("requests") or 0),
            latency=float(data.get("latency") or 0.0),
            agent=data.get("agent"),
            finished_at=float(data.get("finished_at") or 0.0),
        )


def encode_result(result: RowResult) -> bytes:
    """One results line (UTF-8 JSON and a newline); outputs that are not JSON become text."""
    text = json.dumps(result.to_data(), ensure_ascii=False, default=str, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"


@define(frozen=True, slots=True)
class RecoveredResults:
    """A results file read back: the results of its complete lines (the last result of a key
    wins: a retried failure is appended after it) and ``good_bytes``, the length of its whole
    lines; anything after that is a line torn by a crash, to be cut off before appending."""

    results: dict[str, RowResult]
    good_bytes: int
    torn: bool


def recover_results(content: bytes) -> RecoveredResults:
    """Read a results file's bytes, tolerating a torn last line (no newline, or not JSON)."""
    results: dict[str, RowResult] = {}
    end = content.rfind(b"\n") + 1
    good = 0
    offset = 0
    for raw in content[:end].split(b"\n")[:-1]:
        line_end = offset + len(raw) + 1
        text = raw.strip()
        if text:
            try:
                result = RowResult.from_data(json.loads(text))
            except (ValueError, KeyError, TypeError):
                # A line torn by a crash and later followed by another write cannot happen (we
                # cut torn tails before appending), so only the last line may be bad: stop.
                return RecoveredResults(results, good, torn=True)
            results[result.key] = result
        good = offset = line_end
    return RecoveredResults(results, good, torn=good < len(content))
