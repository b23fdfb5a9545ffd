"""Counting what one row spends: a caller wrapper made per row."""

from __future__ import annotations

from attrs import define, field

from lllm_domain.message import Message
from lllm_domain.ports import AsyncLLMCaller, LLMCaller, is_async_caller, is_sync_caller
from lllm_domain.request import LLMRequest
from lllm_domain.usage import Cost, Usage


@define(slots=True)
class RowMeter:
    """Model requests, tokens and dollars of one row so far."""

    requests: int = 0
    usage: Usage = field(factory=Usage)
    cost: Cost = field(factory=Cost)

    def count(self, reply: Message) -> None:
        """Add one reply's usage and cost."""
        if reply.usage is not None:
            self.usage = self.usage + reply.usage
        if reply.cost is not None:
            self.cost = self.cost + reply.cost


class MeteredCaller:
    """Wraps a caller and counts every request and reply into ``meter``."""

    def __init__(self, inner: LLMCaller | AsyncLLMCaller, meter: RowMeter) -> None:
        self.inner = inner
        self.meter = meter

    def __repr__(self) -> str:
        return f"MeteredCaller({self.inner!r})"

    async def acall(self, request: LLMRequest) -> Message:
        """Call the inner async caller and count."""
        assert is_async_caller(self.inner), "MeteredCaller.acall needs an async caller"
        self.meter.requests += 1
        reply = await self.inner.acall(request)
        self.meter.count(reply)
        return reply

    def call(self, request: LLMRequest) -> Message:
        """Call the inner sync caller and count."""
        assert is_sync_caller(self.inner), "MeteredCaller.call needs a sync caller"
        self.meter.requests += 1
        reply = self.inner.call(request)
        self.meter.count(reply)
        return reply
