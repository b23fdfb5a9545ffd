"""The bounds of one agent call: retry limits, transient-error backoff, and spending budgets."""

from __future__ import annotations

import random

from attrs import define, field

from lllm_domain.errors import ConfigError


@define(frozen=True, slots=True)
class RetryPolicy:
    """How transient API failures (rate limits, 5xx, timeouts, dropped connections) are retried.

    These retries do not spend the exception budget. A server-requested delay (``Retry-After``) is
    used as given; otherwise the delay grows exponentially from ``base_delay`` up to
    ``max_delay``, less up to ``jitter`` (a fraction) at random so that clients do not retry in
    lock-step. The call fails once ``max_attempts`` retries of one request or ``max_total_wait``
    seconds of sleeping across the call would be exceeded.
    """

    max_attempts: int = 6
    max_total_wait: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.25

    def __attrs_post_init__(self) -> None:
        for key in ("max_attempts", "max_total_wait", "base_delay", "max_delay"):
            if not getattr(self, key) >= 0:
                raise ConfigError(f"RetryPolicy.{key} must be >= 0, not {getattr(self, key)}")
        if not 0 <= self.jitter <= 1:
            raise ConfigError(f"RetryPolicy.jitter must be within [0, 1], not {self.jitter}")

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The delay before retry number ``attempt`` (1-based) when the server gave none."""
        return self.delay(attempt, rng.random())

    def delay(self, attempt: int, sample: float) -> float:
        """The delay before retry number ``attempt`` (1-based) for a random ``sample`` in
        [0, 1): a pure function, so tests can enumerate it."""
        delay = min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)
        return delay * (1 - self.jitter * sample)


@define(frozen=True, slots=True)
class Budget:
    """Spending limits for one agent call; ``None`` means unlimited.

    Checked before every model request: once a limit is reached the call ends with
    :class:`~lllm_domain.errors.BudgetExceededError`, which carries the dialog and the tool-call
    trace so far.
    """

    max_requests: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None

    def __attrs_post_init__(self) -> None:
        for key in ("max_requests", "max_tokens", "max_cost_usd"):
            value = getattr(self, key)
            if value is not None and not value >= 0:
                raise ConfigError(f"Budget.{key} must be >= 0 or unset (no limit), not {value}")


@define(frozen=True, slots=True)
class CallLimits:
    """Every bound of an agent call.

    ``max_exception_retry``: replies that fail to parse, per turn, before giving up.
    ``max_interrupt_times``: rounds of tool calls before tools are withheld.
    ``max_llm_recall``: fresh retries after a non-transient API error.
    ``max_parallel_tools``: tool calls of one reply run at once under ``acall`` (async tools
    together, blocking ones in worker threads); ``call`` runs them one after another.
    ``max_computer_steps``: computer actions (computer use) one call may run; the call fails
    with :class:`~lllm_domain.errors.ComputerStepLimitError` before running more.
    """

    max_exception_retry: int = 3
    max_interrupt_times: int = 5
    max_llm_recall: int = 0
    retry: RetryPolicy = field(factory=RetryPolicy)
    budget: Budget = field(factory=Budget)
    max_parallel_tools: int = 8
    max_computer_steps: int = 50

    def __attrs_post_init__(self) -> None:
        keys = ("max_exception_retry", "max_interrupt_times", "max_llm_recall")
        for key in (*keys, "max_computer_steps"):
            if getattr(self, key) < 0:
                raise ConfigError(f"CallLimits.{key} must be >= 0, not {getattr(self, key)}")
        if self.max_parallel_tools < 1:
            raise ConfigError(
                f"CallLimits.max_parallel_tools must be >= 1, not {self.max_parallel_tools}"
            )
