"""Batch engines (local asyncio; Ray behind the ``[ray]`` extra) and where results are recorded
(the results JSONL file and the log store)."""

from lllm_adapters.batch.journal import BatchJournal
from lllm_adapters.batch.ledger import (
    BATCH_COLLECTION,
    BatchRecords,
    StoreLedger,
    batches,
    ledger_session,
)
from lllm_adapters.batch.local import LocalEngine, RunReport, run_one, to_result
from lllm_adapters.batch.results_file import ResultsFile

__all__ = [
    "BATCH_COLLECTION",
    "BatchJournal",
    "BatchRecords",
    "LocalEngine",
    "ResultsFile",
    "RunReport",
    "StoreLedger",
    "batches",
    "ledger_session",
    "run_one",
    "to_result",
]
