"""Log stores behind :class:`lllm_domain.ports.LogStore`: SQLite, local JSON files, none."""

from lllm_adapters.logs.factory import LOG_TYPES, SQLITE_FILE, open_log_store
from lllm_adapters.logs.file_store import FileLogStore
from lllm_adapters.logs.null_store import NoLog
from lllm_adapters.logs.record_codec import LogStoreError
from lllm_adapters.logs.redacting_store import RedactingLogStore
from lllm_adapters.logs.session_key import collection_key, session_key
from lllm_adapters.logs.sqlite_store import SQLiteLogStore

__all__ = [
    "LOG_TYPES",
    "SQLITE_FILE",
    "FileLogStore",
    "LogStoreError",
    "NoLog",
    "RedactingLogStore",
    "SQLiteLogStore",
    "collection_key",
    "open_log_store",
    "session_key",
]
