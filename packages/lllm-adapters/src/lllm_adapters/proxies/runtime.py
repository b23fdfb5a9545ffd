"""The HTTP proxy runtime: calls ``proxy/category/endpoint`` paths over httpx2.

It implements :class:`lllm_domain.ports.ToolRuntime`. The domain plans each request
(validation, URL, parameters) and finishes each response (cutoff filtering, post-call hooks);
this module adds what touches the world: the API key from the environment, the disk cache,
timeouts, retries and logging.

The API key never leaves the transport: requests are built and logged without it, and
:class:`_ApiKeyTransport` adds it to a copy just before the bytes go out. Error messages are
scrubbed of every known key value as a second line of defence.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, quote_plus

import httpx2
import msgspec
from attrs import define, evolve
from lllm_domain.errors import ProxyError
from lllm_domain.function import Function
from lllm_domain.ports import Clock, SystemClock
from lllm_domain.proxy import (
    ApiKey,
    Proxy,
    ProxyCatalog,
    ProxyRequest,
    ResolvedEndpoint,
    api_catalog,
    api_directory,
    endpoint_directory,
    endpoint_docs,
)
from lllm_domain.registry import ProxyRegistry, default_proxies

from lllm_adapters.config.discovery import discover_proxies
from lllm_adapters.observability.lazy_logger import get_logger
from lllm_adapters.observability.redaction import Redactor
from lllm_adapters.proxies.cache import MISSING, ResponseCache, default_cache_dir
from lllm_adapters.proxies.settings import ProxySettings

_log = get_logger("lllm.proxies")

_KEY_EXTENSION = "lllm_api_key"
_MAX_BACKOFF = 10.0


@define(frozen=True, slots=True)
class EndpointCheck:
    """The outcome of calling one endpoint with its examples (see
    :meth:`HttpProxyRuntime.auto_test`)."""

    path: str
    ok: bool
    error: str = ""
    preview: str = ""


class _ApiKeyTransport(httpx2.BaseTransport):
    """Adds the API key to a copy of each request that asks for one (via an extension)."""

    def __init__(self, inner: httpx2.BaseTransport, environ: Mapping[str, str]) -> None:
        self._inner = inner
        self._environ = environ

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` with its API key added."""
        spec = request.extensions.get(_KEY_EXTENSION)
        if not isinstance(spec, ApiKey):
            return self._inner.handle_request(request)
        value = self._environ.get(spec.env, "")
        headers = httpx2.Headers(request.headers)
        url = request.url
        if spec.location == "header":
            headers[spec.name] = spec.prefix + value
        else:
            url = url.copy_merge_params({spec.name: value})
        extensions = {k: v for k, v in request.extensions.items() if k != _KEY_EXTENSION}
        keyed = httpx2.Request(
            request.method, url, headers=headers, stream=request.stream, extensions=extensions
        )
        return self._inner.handle_request(keyed)

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()


class HttpProxyRuntime:
    """Calls the activated proxies' endpoints by ``proxy/category/endpoint`` path.

    Args:
        settings: activation, cutoff date, deploy mode, cache, timeout and retries.
        registry: where proxy classes are looked up (the default registry if omitted).
        environ: where API keys are read (``os.environ`` if omitted).
        clock: sleeps between retries (a fake clock makes tests instant).
        transport: the httpx2 transport (a real HTTP transport if omitted).
        propagate: adds trace context to each request's headers just before it is sent
            (``lllm_adapters.tracing.inject_trace_context`` adds ``traceparent``, so the API's
            own traces join the agent's); none if omitted.
    """

    def __init__(
        self,
        settings: ProxySettings | None = None,
        *,
        registry: ProxyRegistry | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        transport: httpx2.BaseTransport | None = None,
        propagate: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        self.settings = settings or ProxySettings()
        self._propagate = propagate
        source = registry if registry is not None else default_proxies
        self.catalog, self.missing = ProxyCatalog.activate(
            source, self.settings.activate, self.settings.base_urls
        )
        for name in self.missing:
            _log.warning("proxy.not_registered", proxy=name, **_closest_proxies(name, source))
        self._instances: dict[str, Proxy] = {p: c() for p, c in self.catalog.proxies.items()}
        self._environ: Mapping[str, str] = environ if environ is not None else os.environ
        self._clock: Clock = clock or SystemClock()
        cache_root = self.settings.cache_dir or default_cache_dir()
        self.cache: ResponseCache | None = (
            ResponseCache(cache_root) if self.settings.use_cache else None
        )
        inner = transport or httpx2.HTTPTransport()
        self._client = httpx2.Client(
            transport=_ApiKeyTransport(inner, self._environ),
            timeout=self.settings.timeout,
        )
        self.requests_sent = 0
        """How many HTTP requests this runtime has sent (cache hits send none)."""
        self._redactor: Redactor | None = None
        self._redactor_for: tuple[str, ...] = ()

    # -- the ToolRuntime port ---------------------------------------------------------------

    def call(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call the endpoint at ``path`` with ``params`` and return its (filtered) response.

        Raises :class:`ProxyError` for an unknown path, missing or wrongly typed parameters, a
        missing API key, an HTTP error, or exhausted retries.
        """
        resolved = self.catalog.resolve(path)
        instance = self._instances[resolved.proxy_path]
        prepared, request = self.catalog.plan(resolved, params, instance)
        raw = self._fetch(resolved, request)
        try:
            return self.catalog.finish(
                resolved,
                raw,
                prepared,
                instance,
                cutoff=self.settings.cutoff_date,
                deploy_mode=self.settings.deploy_mode,
            )
        except ProxyError:
            raise
        except Exception as exc:
            raise ProxyError(
                self._redact(
                    f"{resolved.path}: the post-call hook failed: {type(exc).__name__}: {exc}"
                )
            ) from None

    def documentation(self, paths: Sequence[str] | None = None) -> str:
        """Full documentation of the endpoints at ``paths`` (all when ``None``)."""
        return endpoint_docs(self.catalog, paths)

    # -- documentation and tools ------------------------------------------------------------

    def endpoint_directory(self) -> str:
        """One line per endpoint."""
        return endpoint_directory(self.catalog)

    def api_catalog(self) -> str:
        """One entry per proxy with its categories."""
        return api_catalog(self.catalog)

    def api_directory(self) -> str:
        """Every endpoint by proxy and category."""
        return api_directory(self.catalog)

    def paths(self) -> list[str]:
        """Every callable ``proxy/category/endpoint`` path."""
        return self.catalog.paths()

    def functions(self, paths: Sequence[str] | None = None) -> list[Function]:
        """The endpoints as agent tools (JSON schemas generated from the declarations)."""
        return self.catalog.functions(self, paths)

    def auto_test(self, paths: Sequence[str] | None = None) -> list[EndpointCheck]:
        """Call every endpoint (or ``paths``) with its declared example parameters."""
        checks = []
        for path in paths if paths is not None else self.paths():
            spec = self.catalog.resolve(path).spec
            try:
                result = self.call(path, spec.example_params())
            except ProxyError as exc:
                checks.append(EndpointCheck(path, False, error=str(exc)))
            else:
                checks.append(EndpointCheck(path, True, preview=repr(result)[:200]))
        for check in checks:
            _log.info("proxy.auto_test", path=check.path, ok=check.ok, error=check.error)
        return checks

    # -- settings -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Settings as plain data, including where each active proxy class can be imported
        from, so :func:`runtime_from_settings` can rebuild this runtime elsewhere."""
        classes = dict(self.settings.classes)
        for proxy_path, cls in self.catalog.proxies.items():
            classes[proxy_path] = f"{cls.__module__}:{cls.__qualname__}"
        return evolve(self.settings, classes=classes).to_dict()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> HttpProxyRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HttpProxyRuntime(proxies={list(self.catalog.proxies)!r})"

    # -- I/O --------------------------------------------------------------------------------

    def _fetch(self, resolved: ResolvedEndpoint, request: ProxyRequest) -> Any:
        key_spec = request.api_key
        if key_spec is not None and not self._environ.get(key_spec.env):
            raise ProxyError(
                f"proxy {resolved.proxy_path!r} needs an API key in the environment variable "
                f"{key_spec.env}; set it before calling {resolved.path!r}"
            )
        cache_key = ""
        if self.cache is not None:
            cache_key = self.cache.key(resolved.path, request.cache_key_data())
            hit = self.cache.get(cache_key)
            if hit is not MISSING:
                _log.debug("proxy.call", path=resolved.path, cached=True)
                return hit
        value = self._send(resolved, request)
        if self.cache is not None:
            self.cache.put(cache_key, value)
        return value

    def _send(self, resolved: ResolvedEndpoint, request: ProxyRequest) -> Any:
        extensions = {_KEY_EXTENSION: request.api_key} if request.api_key else {}
        attempts = self.settings.max_retries + 1
        last_problem = ""
        for attempt in range(attempts):
            headers: dict[str, str] = {}
            if self._propagate is not None:
                self._propagate(headers)  # per attempt: the current span may have changed
            try:
                self.requests_sent += 1
                response = self._client.request(
                    request.method,
                    request.url,
                    params=dict(request.query) or None,
                    json=dict(request.json) if request.json is not None else None,
                    headers=headers or None,
                    extensions=extensions,
                )
            except httpx2.TimeoutException:
                last_problem = f"timed out after {self.settings.timeout}s"
                retry_after = None
            except httpx2.TransportError as exc:
                last_problem = f"connection failed ({type(exc).__name__}: {exc})"
                retry_after = None
            else:
                status = response.status_code
                _log.info("proxy.call", path=resolved.path, status=status, attempt=attempt + 1)
                if status < 400:
                    # An API may echo the key (a debug endpoint, a "next page" URL): the value
                    # is redacted before it is cached or reaches a prompt.
                    return _decode(response, self._value_redactor())
                body = response.text[:300]
                last_problem = f"HTTP {status}: {body}"
                if status != 429 and status < 500:
                    raise ProxyError(
                        self._redact(f"{resolved.path}: the API answered {last_problem}")
                    )
                retry_after = _retry_after(response)
            if attempt + 1 < attempts:
                delay = min(
                    retry_after if retry_after is not None else 0.5 * 2**attempt, _MAX_BACKOFF
                )
                _log.warning(
                    "proxy.retry",
                    path=resolved.path,
                    problem=self._redact(last_problem),
                    delay=delay,
                )
                self._clock.sleep(delay)
        raise ProxyError(
            self._redact(
                f"{resolved.path}: failed after {attempts} attempt(s): {last_problem}; "
                "try again later or raise max_retries"
            )
        )

    def _value_redactor(self) -> Redactor:
        """A redactor for the environment's secrets and the active proxies' keys (in the
        forms a key takes inside a URL too), rebuilt only when those values change."""
        keys: set[str] = set()
        for proxy in self.catalog.proxies.values():
            if proxy.api_key is not None:
                secret = self._environ.get(proxy.api_key.env, "")
                if secret:
                    keys.update((secret, quote(secret, safe=""), quote_plus(secret)))
        base = Redactor.from_environment(self._environ)
        wanted = tuple(sorted(keys.union(base.secrets)))
        if self._redactor is None or self._redactor_for != wanted:
            self._redactor = Redactor(wanted)
            self._redactor_for = wanted
        return self._redactor

    def _redact(self, text: str) -> str:
        for proxy in self.catalog.proxies.values():
            if proxy.api_key is not None:
                secret = self._environ.get(proxy.api_key.env, "")
                if len(secret) >= 4:
                    # Also the forms a key takes inside an echoed URL.
                    for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
                        text = text.replace(form, "***")
        return text


def _decode(response: httpx2.Response, redactor: Redactor) -> Any:
    """The response's JSON (or text) with every secret ``redactor`` knows removed."""
    try:
        value = response.json()
    except ValueError:
        # Not every API answers JSON (CSV exports, plain text); hand the text over.
        return redactor.redact_text(response.text)
    raw = response.content
    try:
        clean = redactor.redact_json(raw)
    except UnicodeDecodeError:
        return redactor.redact(value)
    # The usual case: nothing to redact, and redact_json hands back the very same bytes.
    return value if clean is raw else msgspec.json.decode(clean)


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def runtime_from_settings(
    settings: Mapping[str, Any],
    *,
    registry: ProxyRegistry | None = None,
    environ: Mapping[str, str] | None = None,
) -> HttpProxyRuntime:
    """Rebuild "the proxy runtime for these settings" from plain data (a notebook kernel's
    init cell calls this with :meth:`HttpProxyRuntime.to_dict` output).

    Proxies not yet registered are found by running discovery of ``config_path`` (when set)
    and then by importing ``classes`` references; ones still missing are skipped with a
    warning, like any activation.
    """
    parsed = ProxySettings.from_dict(settings)
    target = registry if registry is not None else default_proxies
    wanted = list(parsed.activate) if parsed.activate is not None else list(parsed.classes)
    if any(p not in target for p in wanted) and parsed.config_path:
        discover_proxies(parsed.config_path, registry=target)
    for proxy_path in wanted:
        ref = parsed.classes.get(proxy_path)
        if proxy_path in target or ref is None:
            continue
        cls = _import_ref(ref)
        if cls is not None:
            target.register(proxy_path, cls, origin=ref)
    return HttpProxyRuntime(parsed, registry=target, environ=environ)


def _import_ref(ref: str) -> type[Any] | None:
    module_name, _, qualname = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        _log.warning("proxy.import_failed", ref=ref, error=f"{type(exc).__name__}: {exc}")
        return None
    return obj if isinstance(obj, type) else None


def _closest_proxies(name: str, registry: ProxyRegistry) -> dict[str, Any]:
    """The warning fields for an activated ``name`` that is not registered: the closest
    registered proxy paths (a typo is the usual cause) and what to check."""
    import difflib

    close = difflib.get_close_matches(name, list(registry), n=3, cutoff=0.5)
    if close:
        return {
            "closest": close,
            "hint": f"did you mean {', '.join(map(repr, close))}? (fix activate_proxies)",
        }
    return {"hint": "check the name, or that discovery ran / register_proxy was called"}
