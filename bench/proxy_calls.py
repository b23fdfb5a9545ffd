"""Cost of a proxy call through the HTTP runtime against a local API on 127.0.0.1.

Prints, each the median of several runs:
- an uncached call (validation, request, JSON decode, cutoff filtering of 100 dated rows);
- a cached call (disk cache hit: no request);
- cutoff filtering alone of 1 000 dated rows (the pure domain function).

Run: ``uv run python bench/proxy_calls.py``
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import structlog
from lllm_adapters.proxies import HttpProxyRuntime, ProxySettings
from lllm_domain.proxy import (
    DateField,
    Proxy,
    endpoint,
    filter_by_cutoff,
)
from lllm_domain.registry import ProxyRegistry

from tests.support.proxies_server import FakeApi, serve

ROWS = [
    {"date": (dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat(), "v": i} for i in range(100)
]


class Bench(Proxy):
    base_url = "http://unused.invalid"

    @endpoint("data", "rows", "rows", params={"q*": (str, "x")}, date_field="date")
    def rows(self, params: dict[str, Any]) -> None:
        return None


def median_us(fn: Any, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    registry = ProxyRegistry()
    registry.register("bench/api", Bench)
    api = FakeApi()
    api.routes["/rows"] = ROWS
    with serve(api), tempfile.TemporaryDirectory() as tmp:
        base = {"bench/api": api.base_url}
        cutoff = dt.date(2024, 2, 15)
        uncached = HttpProxyRuntime(
            ProxySettings(cutoff_date=cutoff, use_cache=False, base_urls=base), registry=registry
        )
        cached = HttpProxyRuntime(
            ProxySettings(cutoff_date=cutoff, cache_dir=tmp, base_urls=base), registry=registry
        )
        cached.call("bench/api/data/rows", {"q": "x"})
        rows = [
            {"date": (dt.date(2020, 1, 1) + dt.timedelta(days=i)).isoformat()} for i in range(1000)
        ]
        figures = [
            (
                "uncached call (local HTTP, 100 rows)",
                median_us(lambda: uncached.call("bench/api/data/rows", {"q": "x"}), 200),
            ),
            (
                "cached call (disk hit)",
                median_us(lambda: cached.call("bench/api/data/rows", {"q": "x"}), 500),
            ),
            (
                "filter_by_cutoff, 1 000 rows",
                median_us(lambda: filter_by_cutoff(rows, cutoff, DateField("date")), 200),
            ),
        ]
        uncached.close()
        cached.close()
    print(f"{'figure (median)':<40} {'value':>12}")
    for name, value in figures:
        print(f"{name:<40} {value:>9.1f} µs")


if __name__ == "__main__":
    main()
