"""Log stores behind :class:`lllm_domain.ports.LogStore`: SQLite, local JSON files, none, and
PostgreSQL (``PostgresLogStore``, imported on first use: it needs the ``postgres`` extra)."""

from typing import TYPE_CHECKING, Any

from lllm_adapters.logs.factory import (
    LOG_TYPES,
    POSTGRES_DSN_VARIABLE,
    SQLITE_FILE,
    open_log_store,
)
from lllm_adapters.logs.file_store import FileLogStore
from lllm_adapters.logs.null_store import NoLog
from lllm_adapters.logs.record_codec import LogStoreError
from lllm_adapters.logs.redacting_store import RedactingLogStore
from lllm_adapters.logs.session_key import collection_key, session_key
from lllm_adapters.logs.sqlite_store import SQLiteLogStore

if TYPE_CHECKING:
    from lllm_adapters.logs.postgres_store import PostgresLogStore

__all__ = [
    "LOG_TYPES",
    "POSTGRES_DSN_VARIABLE",
    "SQLITE_FILE",
    "FileLogStore",
    "LogStoreError",
    "NoLog",
    "PostgresLogStore",
    "RedactingLogStore",
    "SQLiteLogStore",
    "collection_key",
    "open_log_store",
    "session_key",
]


def __getattr__(name: str) -> Any:
    # psycopg is imported only by whoever uses the PostgreSQL store.
    if name == "PostgresLogStore":
        from lllm_adapters.logs.postgres_store import PostgresLogStore

        return PostgresLogStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
