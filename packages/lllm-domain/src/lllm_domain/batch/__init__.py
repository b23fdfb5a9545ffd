"""Batch runs: one system over many rows, resumably (the pure parts: rows and keys, results and
their recovery, the whole-batch budget, the shared rate-limit backoff, the summary, and the
ports an engine uses)."""

from lllm_domain.batch.budget import BatchBudget, BatchSpend, budget_stop
from lllm_domain.batch.meter import MeteredCaller, RowMeter
from lllm_domain.batch.plan import pending_rows, session_name
from lllm_domain.batch.ports import (
    BatchProgress,
    NoProgress,
    ResultJournal,
    RowOutcome,
    RowRunner,
    RunnerFactory,
)
from lllm_domain.batch.results import (
    RecoveredResults,
    RowResult,
    RowStatus,
    encode_result,
    recover_results,
)
from lllm_domain.batch.rows import KEY_FIELD, TASK_FIELD, BatchRow, parse_rows, row_key
from lllm_domain.batch.summary import BatchSummary, percentile
from lllm_domain.batch.throttle import EndpointThrottle, ThrottledCaller

__all__ = [
    "KEY_FIELD",
    "TASK_FIELD",
    "BatchBudget",
    "BatchProgress",
    "BatchRow",
    "BatchSpend",
    "BatchSummary",
    "EndpointThrottle",
    "MeteredCaller",
    "NoProgress",
    "RecoveredResults",
    "ResultJournal",
    "RowMeter",
    "RowOutcome",
    "RowResult",
    "RowRunner",
    "RowStatus",
    "RunnerFactory",
    "ThrottledCaller",
    "budget_stop",
    "encode_result",
    "parse_rows",
    "pending_rows",
    "percentile",
    "recover_results",
    "row_key",
    "session_name",
]
