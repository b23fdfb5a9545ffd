"""What the OpenAI and Anthropic integration suites share: settings pointing at a local fake
server, and one request sent through either the sync or the async caller."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from lllm_domain.message import Message
from lllm_domain.request import LLMRequest

CallFn = Callable[[LLMRequest], Message]
S = TypeVar("S")


class _SyncCaller(Protocol):
    def call(self, request: LLMRequest) -> Message: ...

    def close(self) -> None: ...


class _AsyncCaller(Protocol):
    async def acall(self, request: LLMRequest) -> Message: ...


def local_settings(settings_type: Callable[..., S], url: str, key: str, **overrides: Any) -> S:
    """Settings for the server at ``url`` with ``key`` and short timeouts (``overrides`` win)."""
    values: dict[str, Any] = {
        "api_key": key,
        "base_url": url,
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
    }
    values.update(overrides)
    return settings_type(**values)


def call_through(
    mode: str, sync_caller: Callable[[], _SyncCaller], async_caller: Callable[[], _AsyncCaller]
) -> Iterator[CallFn]:
    """Yield a function sending one request through the sync (``mode == "sync"``) or the async
    caller; the sync caller is closed afterwards."""
    if mode == "sync":
        caller = sync_caller()
        yield caller.call
        caller.close()
        return
    acaller = async_caller()

    def run(request: LLMRequest) -> Message:
        return asyncio.run(acaller.acall(request))

    yield run
