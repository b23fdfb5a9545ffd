"""HTTP proxies: the runtime that calls declarative external APIs (``proxy/category/endpoint``)
over httpx2, with API keys from the environment, a disk cache, timeouts and retries.

Needs the ``proxies`` extra: ``pip install "lllm-adapters[proxies]"``."""

from lllm_adapters.extras import requires_extra

with requires_extra("proxies", "lllm_adapters.proxies"):
    from lllm_adapters.proxies.cache import ResponseCache, default_cache_dir
    from lllm_adapters.proxies.runtime import EndpointCheck, HttpProxyRuntime, runtime_from_settings
    from lllm_adapters.proxies.settings import ProxySettings

__all__ = [
    "EndpointCheck",
    "HttpProxyRuntime",
    "ProxySettings",
    "ResponseCache",
    "default_cache_dir",
    "runtime_from_settings",
]
