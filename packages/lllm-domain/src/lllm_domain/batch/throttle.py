"""A backoff shared by every row that calls one endpoint, so a 429 storm slows the batch down
instead of failing rows.

:class:`EndpointThrottle` is the policy (no I/O): a rate-limited reply pushes the endpoint's
``pause_until`` forward — by the server's ``Retry-After`` when it gives one, else by an
exponential backoff that grows with the storm's length — and every request of every row waits
until then before it is sent. :class:`ThrottledCaller` is the driver: it wraps one shared caller,
sleeps through the clock port and retries a rate-limited request itself (up to ``max_wait``
seconds per request), so the agent call's own retry budget is left for other failures.
"""

from __future__ import annotations

import random
import threading

from attrs import define, field

from lllm_domain.errors import LLMAPIError
from lllm_domain.message import Message
from lllm_domain.ports import (
    AsyncLLMCaller,
    Clock,
    LLMCaller,
    SystemClock,
    is_async_caller,
    is_sync_caller,
)
from lllm_domain.request import LLMRequest

RATE_LIMITED = 429


@define(slots=True)
class EndpointThrottle:
    """When the next request to one endpoint may be sent (shared by all rows).

    ``base`` and ``cap`` bound the backoff in seconds; ``streak`` counts rate-limited replies
    since the last success.
    """

    base: float = 0.1
    cap: float = 20.0
    pause_until: float = 0.0
    streak: int = 0
    rate_limited_replies: int = 0
    _lock: threading.Lock = field(factory=threading.Lock, repr=False)

    def wait_before_send(self, now: float) -> float:
        """Seconds to wait before sending a request at ``now`` (0.0: send it)."""
        return max(0.0, self.pause_until - now)

    def rate_limited(self, now: float, retry_after: float | None, sample: float) -> float:
        """A request was refused with 429 at ``now``: push the pause forward and return how
        long this request waits before its retry. ``sample`` in [0, 1) jitters the backoff."""
        with self._lock:
            self.rate_limited_replies += 1
            if now < self.pause_until:
                # Sent before the current pause began (requests in flight together): one wave
                # of refusals lengthens the backoff once, not once per request.
                return self.pause_until - now
            self.streak += 1
            if retry_after is not None and retry_after > 0:
                delay = retry_after
            else:
                full = min(self.cap, self.base * 2 ** min(self.streak - 1, 30))
                delay = full * (0.5 + sample / 2)
            self.pause_until = max(self.pause_until, now + delay)
            return self.pause_until - now

    def succeeded(self) -> None:
        """A request went through: the storm (if any) is over."""
        if self.streak:
            with self._lock:
                self.streak = 0


class ThrottledCaller:
    """Wraps a caller shared by many rows with an :class:`EndpointThrottle`.

    A 429 is retried here after the shared pause (up to ``max_wait`` seconds of waiting per
    request, then the error goes to the agent call as usual); every other error passes through.
    """

    def __init__(
        self,
        inner: LLMCaller | AsyncLLMCaller,
        throttle: EndpointThrottle | None = None,
        *,
        clock: Clock | None = None,
        max_wait: float = 600.0,
        rng: random.Random | None = None,
    ) -> None:
        self.inner = inner
        self.throttle = throttle or EndpointThrottle()
        self.clock = clock or SystemClock()
        self.max_wait = max_wait
        self.rng = rng or random.Random()

    def __repr__(self) -> str:
        return f"ThrottledCaller({self.inner!r})"

    async def acall(self, request: LLMRequest) -> Message:
        """Send ``request`` once the endpoint is not paused; retry it after a 429."""
        assert is_async_caller(self.inner), "ThrottledCaller.acall needs an async caller"
        waited = 0.0
        while True:
            pause = self.throttle.wait_before_send(self.clock.now())
            if pause > 0:
                waited += pause
                await self.clock.asleep(pause)
                continue
            try:
                reply = await self.inner.acall(request)
            except LLMAPIError as exc:
                if exc.status != RATE_LIMITED or waited >= self.max_wait:
                    raise
                self.throttle.rate_limited(self.clock.now(), exc.retry_after, self.rng.random())
                continue
            self.throttle.succeeded()
            return reply

    def call(self, request: LLMRequest) -> Message:
        """The blocking form of :meth:`acall` (rows of a sync system run in threads)."""
        assert is_sync_caller(self.inner), "ThrottledCaller.call needs a sync caller"
        waited = 0.0
        while True:
            pause = self.throttle.wait_before_send(self.clock.now())
            if pause > 0:
                waited += pause
                self.clock.sleep(pause)
                continue
            try:
                reply = self.inner.call(request)
            except LLMAPIError as exc:
                if exc.status != RATE_LIMITED or waited >= self.max_wait:
                    raise
                self.throttle.rate_limited(self.clock.now(), exc.retry_after, self.rng.random())
                continue
            self.throttle.succeeded()
            return reply
