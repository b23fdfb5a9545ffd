"""A finance proxy: exchange rates from frankfurter.app (no API key), with cutoff dates."""

from typing import Any

from lllm_domain.proxy import Proxy, endpoint


class Frankfurter(Proxy):
    """Euro foreign-exchange reference rates."""

    path = "finance/frankfurter"
    base_url = "https://api.frankfurter.app"
    description = "Daily foreign-exchange reference rates published by the ECB."

    @endpoint(
        "rates",
        "latest",
        "The latest exchange rates from a base currency.",
        params={"from": (str, "EUR", "Base currency"), "to": (str, "USD", "Target currencies")},
        response={"amount": 1.0, "base": "EUR", "date": "2024-06-28", "rates": {"USD": 1.07}},
        path="latest",
    )
    def latest(self, params: dict[str, Any]) -> None:
        """Send the parameters unchanged."""

    @endpoint(
        "rates",
        "history",
        "Exchange rates over a date range (items dated on or after the cutoff date are dropped).",
        params={
            "start*": ("date", "2024-01-01", "First day"),
            "end*": ("date", "2024-01-31", "Last day"),
            "to": (str, "USD", "Target currencies"),
        },
        response={"rates": {"2024-01-02": {"USD": 1.09}}},
        path="{start}..{end}",
    )
    def history(self, params: dict[str, Any]) -> None:
        """Send the parameters unchanged."""
