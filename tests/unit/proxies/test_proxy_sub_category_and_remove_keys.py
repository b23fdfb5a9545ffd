"""The original's endpoint declarations: ``sub_category`` and ``remove_keys``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from lllm_domain.errors import ProxyError
from lllm_domain.proxy import (
    Proxy,
    ProxyCatalog,
    api_catalog,
    api_directory,
    endpoint,
    endpoint_directory,
    endpoint_docs,
    post_call,
    remove_response_keys,
)
from lllm_domain.registry import ProxyRegistry


class _Market(Proxy):
    base_url = "https://api.example.com"

    @endpoint(
        "Chart",
        "history",
        "Daily prices",
        sub_category="End of Day",
        params={"symbol*": (str, "AAPL")},
        response=[{"date": "2024-01-02", "close": 1.0, "marketCap": 9}],
        date_field="date",
        remove_keys=["marketCap", "date"],
    )
    def history(self, params: Any) -> None:
        return None

    @endpoint("chart", "intraday", "Minute prices", sub_category="Intraday")
    def intraday(self, params: Any) -> None:
        return None

    @endpoint(
        "search",
        "symbol",
        "Find a symbol",
        response={"symbol": "A", "marketCap": 1},
        remove_keys=("marketCap",),
    )
    def symbol(self, params: Any) -> None:
        return None

    @post_call("chart/end-of-day/history")
    def tag(self, response: Any, params: Any) -> Any:
        return {"rows": response}


def _catalog() -> ProxyCatalog:
    registry = ProxyRegistry()
    registry.register("fin/market", _Market)
    catalog, _ = ProxyCatalog.activate(registry, ["fin/market"])
    return catalog


def test_sub_category_becomes_part_of_the_endpoint_key_and_call_path() -> None:
    assert list(_Market.endpoints()) == [
        "chart/end-of-day/history",
        "chart/intraday/intraday",
        "search/symbol",
    ]
    resolved = _catalog().resolve("fin/market/chart/end-of-day/history")
    assert resolved.spec.sub_category == "end-of-day"
    assert resolved.spec.url_path == "history"


def test_remove_keys_drops_keys_from_each_item_after_cutoff_filtering() -> None:
    catalog = _catalog()
    resolved = catalog.resolve("fin/market/chart/end-of-day/history")
    raw = [
        {"date": "2024-01-02", "close": 1.0, "marketCap": 9},
        {"date": "2024-01-05", "close": 2.0, "marketCap": 9},
        "not a dict",
    ]
    out = catalog.finish(
        resolved, raw, {}, _Market(), cutoff=dt.date(2024, 1, 5), deploy_mode=False
    )
    # The date field itself may be removed: filtering has already used it.
    assert out == {"rows": [{"close": 1.0}]}
    assert raw[0] == {"date": "2024-01-02", "close": 1.0, "marketCap": 9}  # not mutated


def test_remove_keys_applies_to_a_dict_response_and_in_deploy_mode() -> None:
    assert remove_response_keys({"a": 1, "b": 2}, ["b"]) == {"a": 1}
    assert remove_response_keys("text", ["b"]) == "text"
    catalog = _catalog()
    resolved = catalog.resolve("fin/market/chart/end-of-day/history")
    out = catalog.finish(
        resolved,
        [{"date": "2030-01-01", "marketCap": 1}],
        {},
        _Market(),
        cutoff=None,
        deploy_mode=True,
    )
    assert out == {"rows": [{}]}


def test_remove_keys_as_a_bare_string_is_refused_at_declaration() -> None:
    with pytest.raises(ProxyError, match=r"remove_keys must be a list.*\['marketCap'\]"):
        endpoint("a", "b", "c", remove_keys="marketCap")


def test_docs_renderers_show_sub_categories_and_examples_without_removed_keys() -> None:
    catalog = _catalog()
    directory = endpoint_directory(catalog)
    assert "- fin/market/chart/end-of-day/history: Daily prices" in directory
    assert "chart (2: end-of-day 1, intraday 1)" in api_catalog(catalog)
    listing = api_directory(catalog).splitlines()
    assert listing.index("### chart") < listing.index("#### chart/end-of-day")
    assert listing.index("#### chart/end-of-day") < listing.index("#### chart/intraday")
    assert listing.count("### chart") == 1
    docs = endpoint_docs(
        catalog, ["fin/market/chart/end-of-day/history", "fin/market/search/symbol"]
    )
    assert "Category: chart / end-of-day" in docs
    assert "Category: search" in docs
    assert "marketCap" not in docs
