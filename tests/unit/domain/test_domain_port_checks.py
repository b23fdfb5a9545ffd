"""The fast port checks (``is_sync_caller``, ``is_async_caller``, ``is_batch_store``) agree with
``isinstance`` against the runtime-checkable protocols they stand for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from lllm_domain.message import Message, assistant_message
from lllm_domain.ports import (
    AsyncLLMCaller,
    BatchLogStore,
    LLMCaller,
    LogEntry,
    LogRecord,
    is_async_caller,
    is_batch_store,
    is_sync_caller,
)
from lllm_domain.request import LLMRequest


class SyncOnly:
    def call(self, request: LLMRequest) -> Message:
        return assistant_message("hi")


class AsyncOnly:
    async def acall(self, request: LLMRequest) -> Message:
        return assistant_message("hi")


class Both(SyncOnly, AsyncOnly):
    pass


class Disabled(Both):
    call = None  # type: ignore[assignment]


class Store:
    def append(self, collection: str, session: str, data: Any) -> None: ...
    def append_many(self, collection: str, session: str, records: Sequence[Any]) -> None: ...
    def read(self, collection: str, session: str) -> list[LogRecord]:
        return []

    def sessions(self) -> list[str]:
        return []


class BatchStore(Store):
    def append_entries(self, entries: Sequence[LogEntry]) -> None: ...


@pytest.mark.parametrize("value", [SyncOnly(), AsyncOnly(), Both(), Disabled(), object(), "call"])
def test_the_caller_checks_agree_with_isinstance(value: object) -> None:
    assert is_sync_caller(value) == isinstance(value, LLMCaller)
    assert is_async_caller(value) == isinstance(value, AsyncLLMCaller)


@pytest.mark.parametrize("store", [Store(), BatchStore()])
def test_the_batch_store_check_agrees_with_isinstance(store: Store) -> None:
    assert is_batch_store(store) == isinstance(store, BatchLogStore)
    assert is_batch_store(store) == (type(store) is BatchStore)
