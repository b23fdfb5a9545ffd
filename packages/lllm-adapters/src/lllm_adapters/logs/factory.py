"""Choosing a log store by name, as configuration does (``log_type``)."""

from __future__ import annotations

import os
from pathlib import Path

from lllm_domain.ports import LogStore

from lllm_adapters.logs.file_store import FileLogStore
from lllm_adapters.logs.null_store import NoLog
from lllm_adapters.logs.record_codec import LogStoreError
from lllm_adapters.logs.sqlite_store import SQLiteLogStore
from lllm_adapters.observability.redaction import Redactor

LOG_TYPES = ("sqlite", "localfile", "none")
"""The log types :func:`open_log_store` knows (``local`` and ``files`` mean ``localfile``)."""

SQLITE_FILE = "logs.sqlite3"
"""The database file name inside the log folder for ``sqlite``."""


def open_log_store(
    log_type: str,
    log_dir: str | os.PathLike[str] | None = None,
    *,
    durable: bool = True,
    redactor: Redactor | None = None,
) -> LogStore:
    """The log store for ``log_type``: ``sqlite`` (``<log_dir>/logs.sqlite3``), ``localfile``
    (JSON files under ``log_dir``) or ``none``."""
    kind = log_type.strip().lower()
    if kind == "none":
        return NoLog()
    if log_dir is None:
        raise LogStoreError(f"log type {log_type!r} needs a log folder (log_dir); none was given")
    if kind == "sqlite":
        return SQLiteLogStore(Path(log_dir) / SQLITE_FILE, durable=durable, redactor=redactor)
    if kind in ("local", "localfile", "files"):
        return FileLogStore(log_dir, durable=durable, redactor=redactor)
    raise LogStoreError(f"unknown log type {log_type!r}: use one of {', '.join(LOG_TYPES)}")
