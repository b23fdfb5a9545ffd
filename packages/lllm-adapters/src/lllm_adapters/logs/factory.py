"""Choosing a log store by name, as configuration does (``log_type``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from lllm_domain.ports import LogStore

from lllm_adapters.logs.file_store import FileLogStore
from lllm_adapters.logs.null_store import NoLog
from lllm_adapters.logs.record_codec import LogStoreError
from lllm_adapters.logs.sqlite_store import SQLiteLogStore
from lllm_adapters.observability.redaction import Redactor

LOG_TYPES = ("sqlite", "localfile", "postgres", "none")
"""The log types :func:`open_log_store` knows (``local`` and ``files`` mean ``localfile``,
``postgresql`` means ``postgres``)."""

POSTGRES_DSN_VARIABLE = "LLLM_POSTGRES_DSN"
"""The environment variable that holds the PostgreSQL connection string for ``postgres`` when
the system config gives none (``log_dsn``)."""

SQLITE_FILE = "logs.sqlite3"
"""The database file name inside the log folder for ``sqlite``."""


def open_log_store(
    log_type: str,
    log_dir: str | os.PathLike[str] | None = None,
    *,
    durable: bool = True,
    redactor: Redactor | None = None,
    dsn: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> LogStore:
    """The log store for ``log_type``: ``sqlite`` (``<log_dir>/logs.sqlite3``), ``localfile``
    (JSON files under ``log_dir``), ``postgres`` (the database ``dsn`` names, else the one in
    ``$LLLM_POSTGRES_DSN`` of ``environ``, the process environment by default; needs the
    ``postgres`` extra) or ``none``."""
    kind = log_type.strip().lower()
    if kind == "none":
        return NoLog()
    if kind in ("postgres", "postgresql"):
        return _open_postgres(dsn, environ, durable=durable, redactor=redactor)
    if log_dir is None:
        raise LogStoreError(f"log type {log_type!r} needs a log folder (log_dir); none was given")
    if kind == "sqlite":
        return SQLiteLogStore(Path(log_dir) / SQLITE_FILE, durable=durable, redactor=redactor)
    if kind in ("local", "localfile", "files"):
        return FileLogStore(log_dir, durable=durable, redactor=redactor)
    raise LogStoreError(f"unknown log type {log_type!r}: use one of {', '.join(LOG_TYPES)}")


def _open_postgres(
    dsn: str | None,
    environ: Mapping[str, str] | None,
    *,
    durable: bool,
    redactor: Redactor | None,
) -> LogStore:
    env = os.environ if environ is None else environ
    chosen = dsn if dsn else env.get(POSTGRES_DSN_VARIABLE, "").strip()
    if not chosen:
        raise LogStoreError(
            "log type 'postgres' needs a connection string: set log_dsn in the system config "
            f"(e.g. log_dsn: ${{{POSTGRES_DSN_VARIABLE}}}) or the environment variable "
            f"{POSTGRES_DSN_VARIABLE} (e.g. postgresql://user@host:5432/dbname)"
        )
    from lllm_adapters.logs.postgres_store import PostgresLogStore

    return PostgresLogStore(chosen, durable=durable, redactor=redactor)
