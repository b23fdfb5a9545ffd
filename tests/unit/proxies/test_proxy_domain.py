"""The domain side of proxies: declarations, validation, cutoff filtering, settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lllm_adapters.proxies import ProxySettings, runtime_from_settings
from lllm_domain.errors import ConfigError, ProxyError
from lllm_domain.proxy import (
    DateField,
    Param,
    Proxy,
    ProxyCatalog,
    endpoint,
    filter_by_cutoff,
    post_call,
    tool_name,
)
from lllm_domain.registry import ProxyRegistry

from tests.support.config_projects import PROJECT_TOML, proxy_module, write_files

CUTOFF = dt.date(2024, 3, 1)


def test_param_declarations() -> None:
    assert Param.parse("symbol*", (str, "AAPL")) == Param("symbol", "string", "AAPL", True)
    assert Param.parse("n", int) == Param("n", "integer", None, False)
    assert Param.parse("day", ("date", "2024-01-01", "the day")).description == "the day"
    with pytest.raises(ProxyError, match="unsupported type"):
        Param.parse("x", (complex, 1))
    with pytest.raises(ProxyError, match="has no name"):
        Param.parse("*", str)


def test_declaration_errors_are_caught_at_class_creation() -> None:
    with pytest.raises(ProxyError, match="post_call hooks name unknown endpoints"):

        class _Bad(Proxy):
            @post_call("nope/none")
            def hook(self, response: Any, params: Any) -> Any:
                return response

    with pytest.raises(ProxyError, match="both declare endpoint 'a/b'"):

        class _Twice(Proxy):
            @endpoint("a", "b", "one")
            def one(self, params: Any) -> None:
                return None

            @endpoint("a", "b", "two")
            def two(self, params: Any) -> None:
                return None

    with pytest.raises(ProxyError, match="unsupported HTTP method"):
        endpoint("a", "b", "c", method="FETCH")  # type: ignore[arg-type]


def test_list_filtering_keeps_strictly_before_and_drops_undated() -> None:
    items = [
        {"date": "2024-02-29"},
        {"date": "2024-03-01"},
        {"date": "2024-03-02"},
        {"date": "garbage"},
        {"other": 1},
        "not a dict",
    ]
    assert filter_by_cutoff(items, CUTOFF, DateField("date")) == items[:1]
    assert len(items) == 6  # nothing mutated


def test_formats_and_datetimes() -> None:
    items = [{"t": "29/02/2024"}, {"t": "01/03/2024"}, {"t": "2024-02-29T23:59:00Z"}]
    assert filter_by_cutoff(items, CUTOFF, DateField("t", "%d/%m/%Y")) == [items[0], items[2]]


def test_dict_filtering_nested_and_single_record() -> None:
    data = {"meta": {"rows": [{"d": "2024-01-01"}, {"d": "2025-01-01"}]}, "name": "x"}
    out = filter_by_cutoff(data, CUTOFF, DateField("meta/rows/d"))
    assert out == {"meta": {"rows": [{"d": "2024-01-01"}]}, "name": "x"}
    assert len(data["meta"]["rows"]) == 2  # type: ignore[index]
    record = {"d": "2025-01-01", "v": 1}
    assert "error" in filter_by_cutoff(record, CUTOFF, DateField("d"))
    assert filter_by_cutoff({"d": "2024-01-01"}, CUTOFF, DateField("d")) == {"d": "2024-01-01"}
    assert filter_by_cutoff("plain text", CUTOFF, DateField("d")) == "plain text"


@given(st.lists(st.dates(dt.date(2000, 1, 1), dt.date(2050, 1, 1))))
def test_filtering_never_lets_the_future_through(days: list[dt.date]) -> None:
    items = [{"date": d.isoformat()} for d in days]
    kept = filter_by_cutoff(items, CUTOFF, DateField("date"))
    assert kept == [i for i in items if dt.date.fromisoformat(i["date"]) < CUTOFF]


def test_settings_round_trip_and_errors() -> None:
    settings = ProxySettings(
        activate=("a/b",), cutoff_date=CUTOFF, deploy_mode=True, base_urls={"a/b": "http://x"}
    )
    assert ProxySettings.from_dict(settings.to_dict()) == settings
    assert ProxySettings.from_dict({}) == ProxySettings()
    with pytest.raises(ConfigError, match="did you mean 'cutoff_date'"):
        ProxySettings.from_dict({"cuttoff_date": "2024-01-01"})
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        ProxySettings.from_dict({"cutoff_date": "yesterday"})
    with pytest.raises(ConfigError, match="timeout"):
        ProxySettings(timeout=0)


def test_catalog_resolution_and_tool_names() -> None:
    class Api(Proxy):
        base_url = "http://x"

        @endpoint("data", "rows", "rows", params={"q*": str})
        def rows(self, params: Any) -> None:
            return None

    registry = ProxyRegistry()
    registry.register("deep/ns/api", Api)
    catalog, missing = ProxyCatalog.activate(registry, ["deep/ns/api", "gone"])
    assert missing == ("gone",)
    assert catalog.resolve("/deep/ns/api/data/rows/").path == "deep/ns/api/data/rows"
    with pytest.raises(ProxyError, match="did you mean 'deep/ns/api/data/rows'"):
        catalog.resolve("deep/ns/api/data/row")
    assert tool_name("a/b.c/d") == "a__b_c__d"
    assert len(tool_name("x/" * 60)) == 64


def test_runtime_from_settings_runs_discovery_in_a_fresh_process(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"lllm.toml": PROJECT_TOML, "proxies/api.py": proxy_module("Api", path="x/api")},
    )
    (tmp_path / "prompts").mkdir()
    data = ProxySettings(activate=("x/api",), config_path=str(tmp_path / "lllm.toml")).to_dict()
    fresh = ProxyRegistry()
    with runtime_from_settings(data, registry=fresh) as rt:
        assert rt.paths() == ["x/api/data/items"]
        assert rt.missing == ()


def test_settings_from_a_system_config() -> None:
    from lllm_domain.config import SystemConfig

    config = SystemConfig(name="s", activate_proxies=("a/b",), cutoff_date=CUTOFF, deploy_mode=True)
    settings = ProxySettings.from_system_config(config, cache_dir="/tmp/c")
    assert settings == ProxySettings(
        activate=("a/b",), cutoff_date=CUTOFF, deploy_mode=True, cache_dir="/tmp/c"
    )
    assert ProxySettings.from_system_config(SystemConfig(name="s")).activate is None


class _Quotes(Proxy):
    base_url = "https://api.example.com/v1"

    @endpoint("quote", "get", "One quote", params={"symbol*": str}, path="quote/{symbol}")
    def get(self, params: Any) -> None:
        return None


@pytest.mark.parametrize(
    ("symbol", "url"),
    [
        ("AAPL", "https://api.example.com/v1/quote/AAPL"),
        ("BRK/B", "https://api.example.com/v1/quote/BRK%2FB"),
        ("../../admin/delete", "https://api.example.com/v1/quote/..%2F..%2Fadmin%2Fdelete"),
        ("X?limit=1&admin=1", "https://api.example.com/v1/quote/X%3Flimit=1%26admin=1"),
        ("a#frag", "https://api.example.com/v1/quote/a%23frag"),
    ],
)
def test_path_parameters_cannot_leave_the_endpoint_path(symbol: str, url: str) -> None:
    """Path values come from the model: they are percent-encoded into one segment."""
    registry = ProxyRegistry()
    registry.register("fin/quotes", _Quotes)
    catalog, _ = ProxyCatalog.activate(registry, ["fin/quotes"])
    resolved = catalog.resolve("fin/quotes/quote/get")
    _, request = catalog.plan(resolved, {"symbol": symbol}, _Quotes())
    assert request.url == url
    assert request.query == {}


@pytest.mark.parametrize("symbol", ["", ".", ".."])
def test_empty_and_dot_path_parameters_are_refused(symbol: str) -> None:
    registry = ProxyRegistry()
    registry.register("fin/quotes", _Quotes)
    catalog, _ = ProxyCatalog.activate(registry, ["fin/quotes"])
    resolved = catalog.resolve("fin/quotes/quote/get")
    with pytest.raises(ProxyError, match="symbol"):
        catalog.plan(resolved, {"symbol": symbol}, _Quotes())
