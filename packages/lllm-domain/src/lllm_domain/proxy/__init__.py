"""Proxies: declarative descriptions of external HTTP APIs that agents can call.

A proxy is a class deriving from :class:`Proxy`. It declares its base URL and how the API key is
passed (:class:`ApiKey`: a header or a query parameter, filled from an environment variable whose
*name* only is declared here), and each endpoint with the :func:`endpoint` decorator::

    @register_proxy("finance/fmp")
    class FMP(Proxy):
        base_url = "https://financialmodelingprep.com/api/v3"
        api_key = ApiKey.query("apikey", env="FMP_API_KEY")

        @endpoint("quote", "price", "Latest price of a symbol",
                  params={"symbol*": (str, "AAPL")}, response={"price": 1.0})
        def price(self, params: dict[str, Any]) -> dict[str, Any] | None:
            return None  # optionally reshape params before the request

        @post_call("quote/price")
        def round_price(self, response: Any, params: Mapping[str, Any]) -> Any:
            return {**response, "price": round(response["price"], 2)}

Everything here is pure: :meth:`ProxyCatalog.plan` turns a call into a :class:`ProxyRequest`
(what to send), and :meth:`ProxyCatalog.finish` turns the decoded response into what the caller
sees (cutoff-date filtering, then ``remove_keys``, then post-call hooks). Sending the request,
reading the API key from the environment and caching are the adapter's job
(``lllm_adapters.proxies``).

The package is laid out by concept: :mod:`~lllm_domain.proxy.declaration` (the base class and
decorators), :mod:`~lllm_domain.proxy.cutoff` (the cutoff rule), :mod:`~lllm_domain.proxy.catalog`
(resolving, planning and finishing calls) and :mod:`~lllm_domain.proxy.docs` (documentation for
prompts). Every public name is importable from ``lllm_domain.proxy`` itself. The runtime's
settings (``ProxySettings``) live with the adapter that reads them,
``lllm_adapters.proxies.settings``.
"""

from lllm_domain.proxy.catalog import ProxyCatalog, ProxyRequest, ResolvedEndpoint, tool_name
from lllm_domain.proxy.cutoff import (
    cutoff_instant,
    filter_by_cutoff,
    is_before_cutoff,
    parse_date,
    parse_moment,
    remove_response_keys,
)
from lllm_domain.proxy.declaration import (
    ApiKey,
    DateField,
    EndpointSpec,
    HttpMethod,
    Param,
    Proxy,
    endpoint,
    post_call,
)
from lllm_domain.proxy.docs import api_catalog, api_directory, endpoint_directory, endpoint_docs

__all__ = [
    "ApiKey",
    "DateField",
    "EndpointSpec",
    "HttpMethod",
    "Param",
    "Proxy",
    "ProxyCatalog",
    "ProxyRequest",
    "ResolvedEndpoint",
    "api_catalog",
    "api_directory",
    "cutoff_instant",
    "endpoint",
    "endpoint_directory",
    "endpoint_docs",
    "filter_by_cutoff",
    "is_before_cutoff",
    "parse_date",
    "parse_moment",
    "post_call",
    "remove_response_keys",
    "tool_name",
]
