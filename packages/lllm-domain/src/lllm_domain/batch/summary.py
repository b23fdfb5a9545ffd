"""The end-of-batch summary: ok, failed by error type, tokens, cost, latency percentiles."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from attrs import define, field

from lllm_domain.batch.results import RowResult
from lllm_domain.usage import Usage


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0.0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@define(frozen=True, slots=True)
class BatchSummary:
    """Totals over a batch's recorded rows."""

    rows: int
    ok: int
    failed: int
    failed_by_type: Mapping[str, int] = field(factory=dict)
    usage: Usage = field(factory=Usage)
    cost_usd: float = 0.0
    requests: int = 0
    p50_latency: float = 0.0
    p95_latency: float = 0.0
    stopped: str | None = None
    """Why the run stopped launching rows early (the budget), or ``None``."""
    pending: int = 0
    """Rows of the input without a recorded result."""

    @classmethod
    def of(
        cls, results: Iterable[RowResult], *, stopped: str | None = None, pending: int = 0
    ) -> BatchSummary:
        """The summary of ``results`` (one per row key)."""
        usage = Usage()
        cost = 0.0
        requests = 0
        ok = 0
        failures: Counter[str] = Counter()
        latencies: list[float] = []
        for result in results:
            usage = usage + result.usage
            cost += result.cost_usd
            requests += result.requests
            latencies.append(result.latency)
            if result.ok:
                ok += 1
            else:
                failures[result.error_type or "Error"] += 1
        latencies.sort()
        return cls(
            rows=len(latencies),
            ok=ok,
            failed=sum(failures.values()),
            failed_by_type=dict(failures.most_common()),
            usage=usage,
            cost_usd=cost,
            requests=requests,
            p50_latency=percentile(latencies, 0.50),
            p95_latency=percentile(latencies, 0.95),
            stopped=stopped,
            pending=pending,
        )

    def lines(self) -> list[tuple[str, str]]:
        """The summary as (label, value) rows for a table."""
        out = [("ok", str(self.ok)), ("failed", str(self.failed))]
        out += [(f"  {name}", str(count)) for name, count in self.failed_by_type.items()]
        if self.pending:
            out.append(("not run", str(self.pending)))
        out += [
            ("model requests", str(self.requests)),
            (
                "tokens",
                f"{self.usage.total_tokens} ({self.usage.input_tokens} in + "
                f"{self.usage.output_tokens} out)",
            ),
            ("cost", f"${self.cost_usd:.6f}"),
            ("latency p50 / p95", f"{self.p50_latency:.3f} s / {self.p95_latency:.3f} s"),
        ]
        return out
