"""Builds each log store kind for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lllm_adapters.logs import FileLogStore, NoLog, SQLiteLogStore
from lllm_adapters.observability import Redactor
from lllm_domain.ports import LogStore

STORE_KINDS = ("sqlite", "local", "postgres", "none")
PERSISTENT_KINDS = ("sqlite", "local", "postgres")


def make_store(kind: str, root: Path, **kwargs: Any) -> LogStore:
    """A fresh store of ``kind`` rooted in ``root`` (no environment secrets unless given).

    ``postgres`` is a schema of its own for ``root`` on the test session's server (the same
    ``root`` reopens the same records, from any process)."""
    kwargs.setdefault("redactor", Redactor())
    if kind == "sqlite":
        return SQLiteLogStore(root / "logs.sqlite3", **kwargs)
    if kind == "local":
        return FileLogStore(root, **kwargs)
    if kind == "postgres":
        from lllm_adapters.logs.postgres_store import PostgresLogStore

        from tests.support.postgres_server import shared_postgres

        return PostgresLogStore(shared_postgres().schema_dsn(root), **kwargs)
    if kind == "none":
        return NoLog()
    raise ValueError(kind)


def share_with_subprocesses(kind: str) -> None:
    """Start now what ``make_store(kind, ...)`` in a subprocess needs from this process (the
    test session's PostgreSQL server, published in the environment), so that the subprocess
    and this process see one store."""
    if kind == "postgres":
        from tests.support.postgres_server import shared_postgres

        shared_postgres()
