"""The whole-batch budget: when it is spent, the batch launches no new row.

Rows already running finish (their spending is recorded); rows never launched stay
unrecorded, so re-running the batch with a larger budget carries on where it stopped.
"""

from __future__ import annotations

from attrs import define

from lllm_domain.errors import ConfigError


@define(frozen=True, slots=True)
class BatchBudget:
    """Limits over every row of a batch: US dollars and model requests (``None``: no limit)."""

    max_cost_usd: float | None = None
    max_requests: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.max_cost_usd is not None and self.max_cost_usd < 0:
            raise ConfigError(f"--max-cost must be >= 0 dollars, not {self.max_cost_usd}")
        if self.max_requests is not None and self.max_requests < 0:
            raise ConfigError(f"--max-requests must be >= 0, not {self.max_requests}")


@define(frozen=True, slots=True)
class BatchSpend:
    """What the rows of this run have spent so far (finished rows and running ones)."""

    cost_usd: float = 0.0
    requests: int = 0

    def plus(self, cost_usd: float, requests: int) -> BatchSpend:
        """This spend and ``cost_usd`` / ``requests`` more."""
        return BatchSpend(self.cost_usd + cost_usd, self.requests + requests)


def budget_stop(spend: BatchSpend, budget: BatchBudget) -> str | None:
    """Why no new row may start (a sentence naming the limit), or ``None`` while it may."""
    if budget.max_cost_usd is not None and spend.cost_usd >= budget.max_cost_usd:
        return (
            f"budget reached: ${spend.cost_usd:.6f} spent, --max-cost {budget.max_cost_usd}; "
            "raise it and run the batch again to go on"
        )
    if budget.max_requests is not None and spend.requests >= budget.max_requests:
        return (
            f"budget reached: {spend.requests} model requests made, --max-requests "
            f"{budget.max_requests}; raise it and run the batch again to go on"
        )
    return None
