"""Builds each log store kind for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lllm_adapters.logs import FileLogStore, NoLog, SQLiteLogStore
from lllm_adapters.observability import Redactor
from lllm_domain.ports import LogStore

STORE_KINDS = ("sqlite", "local", "none")
PERSISTENT_KINDS = ("sqlite", "local")


def make_store(kind: str, root: Path, **kwargs: Any) -> LogStore:
    """A fresh store of ``kind`` rooted in ``root`` (no environment secrets unless given)."""
    kwargs.setdefault("redactor", Redactor())
    if kind == "sqlite":
        return SQLiteLogStore(root / "logs.sqlite3", **kwargs)
    if kind == "local":
        return FileLogStore(root, **kwargs)
    if kind == "none":
        return NoLog()
    raise ValueError(kind)
