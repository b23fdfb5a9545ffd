"""The catalog of activated proxies: resolving ``proxy/category/endpoint`` paths, planning the
request to send (:class:`ProxyRequest`) and finishing the response, and the endpoints as agent
tools."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from attrs import define, field

from lllm_domain.errors import ProxyError
from lllm_domain.function import Function
from lllm_domain.message import EMPTY_MAPPING
from lllm_domain.proxy.cutoff import filter_by_cutoff, remove_response_keys
from lllm_domain.proxy.declaration import ApiKey, EndpointSpec, HttpMethod, Proxy


@define(frozen=True, slots=True)
class ResolvedEndpoint:
    """A call path resolved to its proxy and endpoint."""

    proxy_path: str
    proxy: type[Proxy]
    spec: EndpointSpec

    @property
    def path(self) -> str:
        """``proxy/category/endpoint``."""
        return f"{self.proxy_path}/{self.spec.key}"


@define(frozen=True, slots=True)
class ProxyRequest:
    """What to send for one call (the API key is added by the adapter from ``api_key``)."""

    method: HttpMethod
    url: str
    query: Mapping[str, Any] = field(default=EMPTY_MAPPING)
    json: Mapping[str, Any] | None = None
    api_key: ApiKey | None = None

    def cache_key_data(self) -> dict[str, Any]:
        """What identifies this request for caching (never the API key)."""
        return {
            "method": self.method,
            "url": self.url,
            "query": dict(self.query),
            "json": None if self.json is None else dict(self.json),
        }


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _path_segment(endpoint: str, name: str, value: Any) -> str:
    """A parameter's value made safe to stand inside a URL path.

    Values come from the model: percent-encoding keeps ``/``, ``?``, ``#`` and ``%`` from
    leaving the endpoint's path or adding query parameters, and dot segments are refused.
    """
    text = str(value)
    if text in ("", ".", ".."):
        raise ProxyError(
            f"endpoint {endpoint!r}: parameter {name!r} goes into the URL path and cannot be "
            f"{text!r}; give a real value"
        )
    return quote(text, safe="-_.~:@,;=+")


@define(frozen=True, slots=True)
class ProxyCatalog:
    """The activated proxies, by path; resolves call paths and renders documentation."""

    proxies: Mapping[str, type[Proxy]] = field(default=EMPTY_MAPPING)
    base_urls: Mapping[str, str] = field(default=EMPTY_MAPPING)

    @classmethod
    def activate(
        cls,
        registry: Mapping[str, type[Any]] | Any,
        names: Sequence[str] | None,
        base_urls: Mapping[str, str] | None = None,
    ) -> tuple[ProxyCatalog, tuple[str, ...]]:
        """The catalog of ``names`` (all registered when ``None``) and the names not found.

        ``registry`` is a :class:`~lllm_domain.registry.ProxyRegistry` or any mapping-like
        object with ``keys()`` and ``get()``.
        """
        available = list(registry.keys())
        wanted = available if names is None else list(names)
        chosen: dict[str, type[Proxy]] = {}
        missing: list[str] = []
        for name in wanted:
            if name in available:
                proxy_cls = registry.get(name)
                if not (isinstance(proxy_cls, type) and issubclass(proxy_cls, Proxy)):
                    raise ProxyError(f"{name!r} is registered but is not a Proxy subclass")
                chosen[name] = proxy_cls
            else:
                missing.append(name)
        return cls(chosen, dict(base_urls or {})), tuple(missing)

    def paths(self) -> list[str]:
        """Every ``proxy/category/endpoint`` path."""
        return [f"{p}/{key}" for p, c in self.proxies.items() for key in c.endpoints()]

    def resolve(self, path: str) -> ResolvedEndpoint:
        """The endpoint at ``proxy/category/endpoint`` (proxy paths may contain ``/``)."""
        clean = path.strip().strip("/")
        for proxy_path in sorted(self.proxies, key=len, reverse=True):
            if clean.startswith(proxy_path + "/"):
                proxy_cls = self.proxies[proxy_path]
                key = clean[len(proxy_path) + 1 :]
                spec = proxy_cls.endpoints().get(key)
                if spec is not None:
                    return ResolvedEndpoint(proxy_path, proxy_cls, spec)
        close = difflib.get_close_matches(clean, self.paths(), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        active = ", ".join(self.proxies) or "none"
        raise ProxyError(
            f"no endpoint {path!r} among the activated proxies ({active}){hint}; "
            "paths look like proxy/category/endpoint"
        )

    def plan(
        self, resolved: ResolvedEndpoint, params: Mapping[str, Any] | None, instance: Proxy
    ) -> tuple[dict[str, Any], ProxyRequest]:
        """Validate ``params``, run the preparation hook and build the request.

        Returns the prepared parameters (for post-call hooks) and the request.
        """
        spec = resolved.spec
        given = {k: v for k, v in (params or {}).items() if v is not None}
        spec.validate(given)
        prepared = instance.prepare(spec, {k: _plain(v) for k, v in given.items()})
        query = dict(prepared)
        url_path = spec.url_path
        for name in _PLACEHOLDER.findall(url_path):
            if name not in query:
                raise ProxyError(
                    f"endpoint {resolved.path!r} needs parameter {name!r} for its URL path"
                )
            url_path = url_path.replace(
                "{" + name + "}", _path_segment(resolved.path, name, query.pop(name))
            )
        base = self.base_urls.get(resolved.proxy_path) or resolved.proxy.base_url
        if not base:
            raise ProxyError(
                f"proxy {resolved.proxy_path!r} declares no base_url; set it on the class or "
                "in the runtime settings' base_urls"
            )
        url = base.rstrip("/") + "/" + url_path.lstrip("/")
        if spec.method in ("GET", "DELETE"):
            request = ProxyRequest(spec.method, url, query, None, resolved.proxy.api_key)
        else:
            request = ProxyRequest(spec.method, url, {}, query, resolved.proxy.api_key)
        return prepared, request

    def finish(
        self,
        resolved: ResolvedEndpoint,
        response: Any,
        params: Mapping[str, Any],
        instance: Proxy,
        *,
        cutoff: dt.date | None,
        deploy_mode: bool,
    ) -> Any:
        """Cutoff filtering (unless deploy mode), then key removal (``remove_keys``), then the
        post-call hook.

        Filtering runs first so that an endpoint may remove its own date field.
        """
        spec = resolved.spec
        if cutoff is not None and not deploy_mode and spec.date_field is not None:
            response = filter_by_cutoff(response, cutoff, spec.date_field)
        response = remove_response_keys(response, spec.remove_keys)
        return instance.after_call(spec, response, params)

    def functions(self, runtime: Any, paths: Sequence[str] | None = None) -> list[Function]:
        """The endpoints (all, or ``paths``) as agent tools calling ``runtime.call``.

        ``runtime`` is any :class:`~lllm_domain.ports.ToolRuntime`. Tool names are the paths
        with ``/`` turned into ``__`` (and cut to 64 characters).
        """
        chosen = list(paths) if paths is not None else self.paths()
        return [self.function(runtime, path) for path in chosen]

    def function(self, runtime: Any, path: str) -> Function:
        """One endpoint as a Function with a JSON schema generated from its declaration."""
        resolved = self.resolve(path)
        spec = resolved.spec
        full = resolved.path

        def call(**params: Any) -> Any:
            return runtime.call(full, params)

        description = spec.description
        if spec.date_field is not None:
            description += " Results are limited to data dated before the current date."
        return Function(
            name=tool_name(full),
            description=f"{description} (API endpoint {full})",
            parameters={p.name: p.json_schema() for p in spec.params},
            required=spec.required,
            callable=call,
            blocking=True,  # an HTTP request: async agent calls run it off the event loop
        )


def tool_name(path: str) -> str:
    """A valid tool name for an endpoint path: ``finance/fmp/quote/price`` →
    ``finance__fmp__quote__price``."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", path.strip("/").replace("/", "__"))
    return name[:64] or "endpoint"


def _plain(value: Any) -> Any:
    # Dates travel as ISO strings: that is what HTTP APIs and the cache key expect.
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
