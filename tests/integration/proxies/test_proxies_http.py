"""The HTTP proxy runtime against a real local API on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import structlog
from lllm_adapters.proxies import HttpProxyRuntime, ProxySettings, runtime_from_settings
from lllm_domain.errors import ProxyError
from lllm_domain.message import FunctionCall
from lllm_domain.proxy import ApiKey, Proxy, endpoint, post_call
from lllm_domain.registry import ProxyRegistry

from tests.support.proxies_server import FakeApi, InstantClock, serve

SECRET = "sk-test-SECRET-1234567890"

PRICES = [
    {"date": "2024-01-02", "close": 10.0},
    {"date": "2024-01-03", "close": 11.0},
    {"date": "2024-01-05", "close": 12.5},
    {"date": "2024-01-08", "close": 13.0},
]


class MarketProxy(Proxy):
    """A finance-like API keyed by a query parameter."""

    base_url = "http://unused.invalid"
    api_key = ApiKey.query("apikey", env="MARKET_KEY")
    title = "Market data"
    description = "Prices and company news."

    @endpoint(
        "quote",
        "history",
        "Daily closing prices of a symbol",
        params={"symbol*": (str, "AAPL"), "limit": (int, 10, "how many days")},
        response=PRICES[:1],
        date_field="date",
    )
    def history(self, params: dict[str, Any]) -> dict[str, Any] | None:
        return None

    @endpoint(
        "quote",
        "profile",
        "Company profile with its historical prices",
        params={"symbol*": (str, "AAPL")},
        response={"symbol": "AAPL", "historical": PRICES[:1]},
        date_field="historical/date",
        path="profile/{symbol}",
    )
    def profile(self, params: dict[str, Any]) -> None:
        return None

    @endpoint(
        "news",
        "latest",
        "The latest headline",
        params={"topic": (str, "markets")},
        response={"date": "2024-01-02", "title": "x"},
        date_field="date",
    )
    def latest(self, params: dict[str, Any]) -> dict[str, Any]:
        # Preparation hook: the API wants upper-case topics.
        return {k: v.upper() if isinstance(v, str) else v for k, v in params.items()}

    @post_call("news/latest")
    def tag(self, response: Any, params: Mapping[str, Any]) -> Any:
        if isinstance(response, dict) and "title" in response:
            return {**response, "title": response["title"] + "!"}
        return response


class HeaderProxy(Proxy):
    """An API keyed by a bearer header."""

    base_url = "http://unused.invalid"
    api_key = ApiKey.header("Authorization", env="HEADER_KEY", prefix="Bearer ")

    @endpoint("search", "find", "Search things", params={"q*": ("string", "cats")}, method="POST")
    def find(self, params: dict[str, Any]) -> None:
        return None


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    fake.routes["/history"] = PRICES
    fake.routes["/profile/AAPL"] = {"symbol": "AAPL", "historical": PRICES}
    fake.routes["/latest"] = {"date": "2024-01-07", "title": "Big news"}
    fake.routes["/find"] = lambda req: [{"hit": req["json"]["q"]}]
    with serve(fake) as running:
        yield running


@pytest.fixture
def registry() -> ProxyRegistry:
    reg = ProxyRegistry()
    reg.register("finance/market", MarketProxy)
    reg.register("web/search", HeaderProxy)
    return reg


def make_runtime(
    api: FakeApi, registry: ProxyRegistry, tmp_path: Path, **overrides: Any
) -> HttpProxyRuntime:
    settings = ProxySettings(
        cutoff_date=dt.date(2024, 1, 4),
        cache_dir=str(tmp_path / "cache"),
        base_urls={"finance/market": api.base_url, "web/search": api.base_url},
        **overrides,
    )
    env = {"MARKET_KEY": SECRET, "HEADER_KEY": SECRET}
    return HttpProxyRuntime(settings, registry=registry, environ=env, clock=InstantClock())


def test_list_response_is_cut_at_the_cutoff_date(api: FakeApi, registry, tmp_path) -> None:
    with make_runtime(api, registry, tmp_path) as rt:
        result = rt.call("finance/market/quote/history", {"symbol": "AAPL", "limit": 5})
    assert [r["date"] for r in result] == ["2024-01-02", "2024-01-03"]
    sent = api.requests[-1]
    assert sent["query"] == {"symbol": "AAPL", "limit": "5", "apikey": SECRET}


def test_dict_response_nested_list_is_filtered_and_path_params_fill_the_url(
    api: FakeApi, registry, tmp_path
) -> None:
    with make_runtime(api, registry, tmp_path) as rt:
        result = rt.call("finance/market/quote/profile", {"symbol": "AAPL"})
    assert result["symbol"] == "AAPL"
    assert [r["date"] for r in result["historical"]] == ["2024-01-02", "2024-01-03"]
    assert api.requests[-1]["path"] == "/profile/AAPL"
    assert "symbol" not in api.requests[-1]["query"]


def test_dict_record_after_cutoff_becomes_a_readable_error(api, registry, tmp_path) -> None:
    with make_runtime(api, registry, tmp_path) as rt:
        result = rt.call("finance/market/news/latest", {"topic": "tech"})
    assert set(result) == {"error"}
    assert "2024-01-04" in result["error"]
    # The preparation hook reshaped the params before sending.
    assert api.requests[-1]["query"]["topic"] == "TECH"


def test_deploy_mode_disables_cutoff_filtering_and_hooks_still_run(api, registry, tmp_path) -> None:
    with make_runtime(api, registry, tmp_path, deploy_mode=True) as rt:
        history = rt.call("finance/market/quote/history", {"symbol": "AAPL"})
        news = rt.call("finance/market/news/latest", {})
    assert len(history) == 4
    assert news == {"date": "2024-01-07", "title": "Big news!"}


def test_cache_second_call_sends_no_request_and_survives_a_new_runtime(
    api, registry, tmp_path
) -> None:
    params = {"symbol": "AAPL"}
    with make_runtime(api, registry, tmp_path) as rt:
        first = rt.call("finance/market/quote/history", params)
        second = rt.call("finance/market/quote/history", params)
        assert rt.requests_sent == 1
        rt.call("finance/market/quote/history", {"symbol": "MSFT"})
    assert first == second
    assert api.count("/history") == 2
    with make_runtime(api, registry, tmp_path) as again:
        again.call("finance/market/quote/history", params)
        assert again.requests_sent == 0
    cached = list((tmp_path / "cache").rglob("*.json"))
    assert len(cached) == 2
    assert all(SECRET not in p.read_text() for p in cached)


def test_no_cache_when_disabled(api, registry, tmp_path) -> None:
    with make_runtime(api, registry, tmp_path, use_cache=False) as rt:
        rt.call("finance/market/quote/history", {"symbol": "AAPL"})
        rt.call("finance/market/quote/history", {"symbol": "AAPL"})
    assert api.count("/history") == 2


def test_required_and_typed_params_are_checked_before_any_request(api, registry, tmp_path) -> None:
    with make_runtime(api, registry, tmp_path) as rt:
        with pytest.raises(ProxyError) as missing:
            rt.call("finance/market/quote/history", {"limit": 3})
        with pytest.raises(ProxyError) as wrong:
            rt.call("finance/market/quote/history", {"symbol": "AAPL", "limit": "three"})
        with pytest.raises(ProxyError) as unknown:
            rt.call("finance/market/quote/history", {"symbol": "AAPL", "limt": 3})
        with pytest.raises(ProxyError) as no_path:
            rt.call("finance/market/quote/histroy", {"symbol": "AAPL"})
    assert "missing required parameter 'symbol'" in str(missing.value)
    assert "'limit' must be of type integer" in str(wrong.value)
    assert "did you mean 'limit'" in str(unknown.value)
    assert "finance/market/quote/history" in str(no_path.value)
    assert api.requests == []


def test_header_key_and_post_body(api, registry, tmp_path) -> None:
    with make_runtime(api, registry, tmp_path) as rt:
        assert rt.call("web/search/search/find", {"q": "owls"}) == [{"hit": "owls"}]
    sent = api.requests[-1]
    assert sent["method"] == "POST"
    assert sent["headers"]["authorization"] == f"Bearer {SECRET}"
    assert sent["json"] == {"q": "owls"}


def test_retries_on_429_and_5xx_then_succeeds(api, registry, tmp_path) -> None:
    api.faults["/history"] = [429, 503]
    clock = InstantClock()
    settings = ProxySettings(
        use_cache=False, base_urls={"finance/market": api.base_url}, max_retries=3
    )
    with HttpProxyRuntime(
        settings, registry=registry, environ={"MARKET_KEY": SECRET}, clock=clock
    ) as rt:
        result = rt.call("finance/market/quote/history", {"symbol": "AAPL"})
    assert len(result) == 4
    assert api.count("/history") == 3
    assert clock.sleeps == [0.5, 1.0]


def test_retries_exhausted_and_4xx_are_clear_errors_without_the_key(
    api, registry, tmp_path
) -> None:
    api.faults["/history"] = [500, 500]
    api.routes["/latest"] = (403, {"error": f"bad key {SECRET}"})
    settings = ProxySettings(
        use_cache=False, base_urls={"finance/market": api.base_url}, max_retries=1
    )
    with HttpProxyRuntime(
        settings, registry=registry, environ={"MARKET_KEY": SECRET}, clock=InstantClock()
    ) as rt:
        with pytest.raises(ProxyError) as exhausted:
            rt.call("finance/market/quote/history", {"symbol": "AAPL"})
        with pytest.raises(ProxyError) as forbidden:
            rt.call("finance/market/news/latest", {})
    assert "failed after 2 attempt(s)" in str(exhausted.value)
    assert "HTTP 403" in str(forbidden.value)
    assert SECRET not in str(forbidden.value)
    assert api.count("/latest") == 1  # 4xx is not retried


def test_missing_api_key_is_named(api, registry, tmp_path) -> None:
    settings = ProxySettings(use_cache=False, base_urls={"finance/market": api.base_url})
    with (
        HttpProxyRuntime(settings, registry=registry, environ={}) as rt,
        pytest.raises(ProxyError, match="MARKET_KEY"),
    ):
        rt.call("finance/market/quote/history", {"symbol": "AAPL"})
    assert api.requests == []


def test_timeout_is_a_proxy_error(registry, tmp_path) -> None:
    import socket

    # A listening socket that never answers: the request must time out, not hang.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = ProxySettings(
            use_cache=False, base_urls={"finance/market": url}, timeout=0.3, max_retries=0
        )
        with (
            HttpProxyRuntime(settings, registry=registry, environ={"MARKET_KEY": SECRET}) as rt,
            pytest.raises(ProxyError, match="timed out"),
        ):
            rt.call("finance/market/quote/history", {"symbol": "AAPL"})


def test_api_key_never_in_logs_errors_or_reprs(api, registry, tmp_path, caplog) -> None:
    api.faults["/history"] = [500]
    api.routes["/latest"] = (401, {"detail": f"key {SECRET} rejected"})
    caplog.set_level(logging.DEBUG)
    errors = []
    with (
        structlog.testing.capture_logs() as logs,
        make_runtime(api, registry, tmp_path, max_retries=1) as rt,
    ):
        rt.call("finance/market/quote/history", {"symbol": "AAPL"})
        rt.call("web/search/search/find", {"q": "x"})
        try:
            rt.call("finance/market/news/latest", {})
        except ProxyError as exc:
            errors.append(str(exc))
        text = repr(rt) + json.dumps(rt.to_dict()) + rt.documentation()
    assert api.requests, "requests were sent"
    assert any(SECRET in r["raw"] for r in api.requests), "the key did reach the server"
    assert errors and SECRET not in errors[0]
    assert SECRET not in caplog.text
    assert logs and SECRET not in json.dumps(logs, default=str)
    assert SECRET not in text


def test_activation_skips_missing_with_a_warning(api, registry, tmp_path) -> None:
    with structlog.testing.capture_logs() as logs:
        rt = HttpProxyRuntime(
            ProxySettings(activate=("finance/market", "nope/absent"), use_cache=False),
            registry=registry,
        )
    assert list(rt.catalog.proxies) == ["finance/market"]
    assert rt.missing == ("nope/absent",)
    assert any(e["event"] == "proxy.not_registered" and e["proxy"] == "nope/absent" for e in logs)
    with pytest.raises(ProxyError, match="activated proxies"):
        rt.call("web/search/search/find", {"q": "x"})
    rt.close()


def test_catalog_and_docs_text(api, registry, tmp_path) -> None:
    with make_runtime(api, registry, tmp_path) as rt:
        directory = rt.endpoint_directory()
        catalog = rt.api_catalog()
        api_dir = rt.api_directory()
        docs = rt.documentation(["finance/market/quote/history"])
    assert directory.splitlines() == [
        "- finance/market/quote/history: Daily closing prices of a symbol",
        "- finance/market/quote/profile: Company profile with its historical prices",
        "- finance/market/news/latest: The latest headline",
        "- web/search/search/find: Search things",
    ]
    assert catalog.startswith("## finance/market — Market data\nPrices and company news.\n")
    assert "Categories: quote (2), news (1)" in catalog
    assert (
        "- finance/market/quote/history (GET): Daily closing prices of a symbol "
        "Params: symbol*, limit." in api_dir
    )
    assert "- symbol (string, required, e.g. 'AAPL')" in docs
    assert "- limit (integer, optional, e.g. 10) — how many days" in docs
    assert "Example response:" in docs and '"close": 10.0' in docs


def test_auto_test_calls_every_endpoint_with_examples(api, registry, tmp_path) -> None:
    with make_runtime(api, registry, tmp_path) as rt:
        checks = rt.auto_test()
    assert [c.path for c in checks] == rt.paths()
    assert all(c.ok for c in checks), checks
    assert api.requests[0]["query"]["symbol"] == "AAPL"
    assert any(r["path"] == "/find" and r["json"] == {"q": "cats"} for r in api.requests)


def test_settings_round_trip_rebuilds_the_runtime(api, registry, tmp_path) -> None:
    with make_runtime(api, registry, tmp_path, activate=("finance/market",)) as rt:
        data = rt.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["classes"]["finance/market"].endswith(":MarketProxy")
    fresh = ProxyRegistry()  # a new process: nothing registered yet
    with runtime_from_settings(data, registry=fresh, environ={"MARKET_KEY": SECRET}) as again:
        assert again.settings == ProxySettings.from_dict(data)
        assert again.call("finance/market/quote/history", {"symbol": "AAPL"})[-1]["date"] == (
            "2024-01-03"
        )
    assert "finance/market" in fresh


def test_endpoints_as_functions_with_generated_schemas(api, registry, tmp_path) -> None:
    with make_runtime(api, registry, tmp_path) as rt:
        functions = {f.name: f for f in rt.functions()}
        fn = functions["finance__market__quote__history"]
        assert fn.json_schema() == {
            "type": "object",
            "properties": {
                "symbol": {"type": "string", "description": "(e.g. 'AAPL')"},
                "limit": {"type": "integer", "description": "how many days (e.g. 10)"},
            },
            "required": ["symbol"],
        }
        assert all(f.blocking for f in functions.values())  # HTTP: off the loop in acall
        done = fn.invoke(FunctionCall(id="c1", name=fn.name, arguments={"symbol": "AAPL"}))
        assert done.success
        assert json.loads(done.result_text or "")[0]["date"] == "2024-01-02"
        bad = fn.invoke(FunctionCall(id="c2", name=fn.name, arguments={}))
        assert not bad.success and "symbol" in (bad.error or "")


def test_a_key_echoed_url_encoded_in_an_error_is_still_hidden(api, registry, tmp_path) -> None:
    from urllib.parse import quote

    secret = "k3y+with/slash=="
    # The API echoes the request URL back, where the query-parameter key is percent-encoded.
    api.routes["/latest"] = lambda request: (400, {"error": f"bad request {request['raw']}"})
    settings = ProxySettings(use_cache=False, base_urls={"finance/market": api.base_url})
    with (
        HttpProxyRuntime(settings, registry=registry, environ={"MARKET_KEY": secret}) as rt,
        pytest.raises(ProxyError) as failed,
    ):
        rt.call("finance/market/news/latest", {})
    assert quote(secret, safe="") in api.requests[0]["raw"]  # the echo really carries it
    message = str(failed.value)
    assert "bad request" in message
    assert secret not in message and quote(secret, safe="") not in message


class ScreenerProxy(Proxy):
    """The original's declaration form: a sub-category and keys removed from responses."""

    base_url = "http://unused.invalid"

    @endpoint(
        "Search",
        "screener",
        "Companies by market",
        sub_category="Stock Screener",
        params={"market*": (str, "NYSE")},
        response=[{"date": "2024-01-02", "symbol": "A", "marketCap": 1}],
        date_field="date",
        remove_keys=["marketCap"],
    )
    def screener(self, params: dict[str, Any]) -> None:
        return None


def test_sub_category_paths_and_removed_keys_through_the_http_runtime_and_its_cache(
    api: FakeApi, tmp_path: Path
) -> None:
    api.routes["/screener"] = [
        {"date": "2024-01-03", "symbol": "A", "marketCap": 10},
        {"date": "2024-01-04", "symbol": "B", "marketCap": 20},  # the cutoff day: dropped
    ]
    registry = ProxyRegistry()
    registry.register("fin/screen", ScreenerProxy)
    settings = ProxySettings(
        cutoff_date=dt.date(2024, 1, 4),
        cache_dir=str(tmp_path / "cache"),
        base_urls={"fin/screen": api.base_url},
    )
    path = "fin/screen/search/stock-screener/screener"
    with HttpProxyRuntime(settings, registry=registry, environ={}) as rt:
        first = rt.call(path, {"market": "NYSE"})
        again = rt.call(path, {"market": "NYSE"})  # from the cache: raw, then filtered again
        assert rt.requests_sent == 1
        docs = rt.documentation([path])
    assert first == again == [{"date": "2024-01-03", "symbol": "A"}]
    assert "Category: search / stock-screener" in docs and "marketCap" not in docs
    cached = json.loads(next((tmp_path / "cache").rglob("*.json")).read_text())
    assert "marketCap" in json.dumps(cached)  # the cache keeps the raw response
