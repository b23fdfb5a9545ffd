"""A proxy the sandbox tests activate inside a kernel (imported there by its ``module:Class``)."""

from __future__ import annotations

from typing import Any

from lllm_domain.proxy import Proxy, endpoint

PRICES = [
    {"date": "2024-01-02", "close": 10.0},
    {"date": "2024-01-03", "close": 11.0},
    {"date": "2024-01-05", "close": 12.5},
]


class SandboxPricesProxy(Proxy):
    """Daily prices from a local test API (its base URL is overridden per test)."""

    base_url = "http://unused.invalid"
    title = "Prices"
    description = "Daily closing prices."

    @endpoint(
        "quote",
        "history",
        "Daily closing prices of a symbol",
        params={"symbol*": (str, "ACME")},
        response=PRICES[:1],
        date_field="date",
    )
    def history(self, params: dict[str, Any]) -> dict[str, Any] | None:
        return None
