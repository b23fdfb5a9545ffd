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
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import quote

from attrs import define, field, fields

from lllm_domain.config import SystemConfig
from lllm_domain.errors import ConfigError, ProxyError
from lllm_domain.function import JSON_PYTHON_TYPES, Function
from lllm_domain.message import EMPTY_MAPPING

F = TypeVar("F", bound=Callable[..., Any])

HttpMethod = Literal["GET", "POST", "PUT", "DELETE", "PATCH"]

_ENDPOINT_ATTR = "__lllm_endpoint__"
_POST_CALL_ATTR = "__lllm_post_call__"

# Parameter type names accepted in declarations, mapped to JSON-schema types.
_TYPE_NAMES: dict[str, str] = {
    "str": "string",
    "string": "string",
    "int": "integer",
    "integer": "integer",
    "float": "number",
    "number": "number",
    "bool": "boolean",
    "boolean": "boolean",
    "list": "array",
    "array": "array",
    "dict": "object",
    "object": "object",
    "date": "date",
}
_PY_TYPES: dict[type, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
    dt.date: "date",
}
_CHECKS: dict[str, tuple[type, ...]] = {**JSON_PYTHON_TYPES, "date": (str, dt.date)}


@define(frozen=True, slots=True)
class Param:
    """One endpoint parameter: its name, JSON type (``string``, ``integer``, ``number``,
    ``boolean``, ``array``, ``object`` or ``date``), an example value and whether it is
    required."""

    name: str
    type: str = "string"
    example: Any = None
    required: bool = False
    description: str = ""

    @classmethod
    def parse(cls, key: str, spec: Any) -> Param:
        """Read one entry of an ``@endpoint(params=...)`` mapping.

        ``key`` is the name, a trailing ``*`` marking it required. ``spec`` is a type, or a
        tuple ``(type, example)`` or ``(type, example, description)``; types are Python types
        (``str``, ``int``, ``dt.date``...) or type names (``"string"``, ``"date"``...).
        """
        required = key.endswith("*")
        name = key.rstrip("*").strip()
        if not name:
            raise ProxyError(f"endpoint parameter {key!r} has no name")
        parts = tuple(spec) if isinstance(spec, tuple | list) else (spec,)
        if not 1 <= len(parts) <= 3:
            raise ProxyError(
                f"parameter {name!r}: give a type, (type, example) or (type, example, "
                f"description), not {spec!r}"
            )
        type_name = _type_name(parts[0], name)
        example = parts[1] if len(parts) > 1 else None
        description = str(parts[2]) if len(parts) > 2 else ""
        return cls(name, type_name, example, required, description)

    def check(self, value: Any) -> str | None:
        """A problem with ``value`` for this parameter, or ``None`` when it fits."""
        allowed = _CHECKS.get(self.type)
        if allowed is None:
            return None
        if isinstance(value, bool) and self.type in ("integer", "number"):
            allowed = ()
        if isinstance(value, allowed):
            return None
        return f"parameter {self.name!r} must be of type {self.type}, not {value!r}"

    def json_schema(self) -> dict[str, Any]:
        """This parameter as a JSON-schema property."""
        schema: dict[str, Any] = (
            {"type": "string", "format": "date"} if self.type == "date" else {"type": self.type}
        )
        text = self.description
        if self.example is not None:
            text = f"{text} (e.g. {self.example!r})".strip()
        if text:
            schema["description"] = text
        return schema


def _type_name(spec: Any, name: str) -> str:
    if isinstance(spec, str) and spec.lower() in _TYPE_NAMES:
        return _TYPE_NAMES[spec.lower()]
    if isinstance(spec, type) and spec in _PY_TYPES:
        return _PY_TYPES[spec]
    raise ProxyError(
        f"parameter {name!r} has unsupported type {spec!r}; use str, int, float, bool, list, "
        "dict, datetime.date or their names"
    )


@define(frozen=True, slots=True)
class DateField:
    """Where a response carries dates, for cutoff filtering.

    ``path`` is a ``/``-separated path: for a list response, the key of each item's date
    (``"date"``); for a dict response, the keys leading to a list of items and then the item's
    date key (``"historical/date"``), or just the dict's own date key. ``format`` is a
    :func:`~datetime.datetime.strptime` format; ISO dates and datetimes are always accepted.
    """

    path: str = "date"
    format: str = "%Y-%m-%d"


@define(frozen=True, slots=True)
class EndpointSpec:
    """An endpoint's declaration (what :func:`endpoint` records)."""

    category: str
    endpoint: str
    description: str
    params: tuple[Param, ...] = ()
    response: Any = None
    """An example response, shown in documentation."""
    method: HttpMethod = "GET"
    date_field: DateField | None = None
    url_path: str = ""
    """The path after the base URL (defaults to ``endpoint``); ``{name}`` placeholders are
    filled from parameters of that name, which then leave the query."""
    name: str = ""
    """A display name (defaults to ``endpoint``)."""
    method_name: str = ""
    """The Python method the declaration decorates (its parameter-preparation hook)."""
    sub_category: str = ""
    """An optional group within the category; when set it becomes part of the key
    (``category/sub_category/endpoint``), as in the original LLLM."""
    remove_keys: tuple[str, ...] = ()
    """Keys dropped from the response before the caller sees it: from each item of a list
    response, or from a dict response itself (noise, or fields that would leak the present)."""

    @property
    def key(self) -> str:
        """``category/endpoint``, or ``category/sub_category/endpoint``: the endpoint's key
        within its proxy."""
        if self.sub_category:
            return f"{self.category}/{self.sub_category}/{self.endpoint}"
        return f"{self.category}/{self.endpoint}"

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required parameters."""
        return tuple(p.name for p in self.params if p.required)

    def example_params(self) -> dict[str, Any]:
        """Parameters built from the declared examples (used by ``auto_test``)."""
        return {p.name: p.example for p in self.params if p.example is not None}

    def validate(self, params: Mapping[str, Any]) -> None:
        """Raise :class:`ProxyError` listing every missing required parameter, unknown
        parameter and wrongly typed value."""
        known = {p.name: p for p in self.params}
        problems = [
            f"missing required parameter {p.name!r} (e.g. {p.example!r})"
            for p in self.params
            if p.required and (params.get(p.name) is None or params.get(p.name) == "")
        ]
        for key, value in params.items():
            spec = known.get(key)
            if spec is None:
                close = difflib.get_close_matches(key, list(known), n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"expected {sorted(known)}"
                problems.append(f"unknown parameter {key!r}; {hint}")
            elif value is not None:
                problem = spec.check(value)
                if problem:
                    problems.append(problem)
        if problems:
            raise ProxyError(f"endpoint {self.key!r}: " + "; ".join(problems))


def endpoint(
    category: str,
    endpoint: str,
    description: str,
    *,
    params: Mapping[str, Any] | None = None,
    response: Any = None,
    method: HttpMethod = "GET",
    date_field: str | DateField | None = None,
    date_format: str = "%Y-%m-%d",
    path: str | None = None,
    name: str | None = None,
    sub_category: str | None = None,
    remove_keys: Sequence[str] | None = None,
) -> Callable[[F], F]:
    """Declare the decorated method of a :class:`Proxy` as an endpoint.

    The method is the endpoint's parameter-preparation hook: it receives the validated
    parameters (a fresh dict) and returns a reshaped dict, or ``None`` to send them unchanged.

    Args:
        category: the group the endpoint belongs to (``quote``, ``search``...).
        endpoint: the endpoint's name; also the URL path unless ``path`` is given.
        description: one sentence for the model.
        params: name → type, ``(type, example)`` or ``(type, example, description)``; a
            trailing ``*`` on the name marks it required.
        response: an example response, shown in documentation.
        method: the HTTP method.
        date_field: which response field holds a date, for cutoff filtering (see
            :class:`DateField`).
        date_format: the ``strptime`` format of that date.
        path: the URL path after the base URL, with optional ``{param}`` placeholders.
        name: a display name.
        sub_category: a group within ``category``; the endpoint's key (and call path) becomes
            ``category/sub_category/endpoint``.
        remove_keys: response keys the caller never sees (see
            :func:`remove_response_keys`); a list or tuple of names.
    """
    if method not in ("GET", "POST", "PUT", "DELETE", "PATCH"):
        raise ProxyError(f"endpoint {category}/{endpoint}: unsupported HTTP method {method!r}")
    if isinstance(remove_keys, str) or not all(isinstance(k, str) for k in (remove_keys or ())):
        # A bare string would silently remove its letters ("date" → d, a, t, e).
        raise ProxyError(
            f"endpoint {category}/{endpoint}: remove_keys must be a list of key names, "
            f"not {remove_keys!r}; write remove_keys=[{remove_keys!r}] for one key"
        )
    parsed = tuple(Param.parse(k, v) for k, v in (params or {}).items())
    dates = DateField(date_field, date_format) if isinstance(date_field, str) else date_field

    def wrap(fn: F) -> F:
        spec = EndpointSpec(
            category=_slug(category),
            endpoint=_slug(endpoint),
            description=description,
            params=parsed,
            response=response,
            method=method,
            date_field=dates,
            url_path=path if path is not None else endpoint,
            name=name or endpoint,
            method_name=fn.__name__,
            sub_category=_slug(sub_category) if sub_category else "",
            remove_keys=tuple(remove_keys or ()),
        )
        setattr(fn, _ENDPOINT_ATTR, spec)
        return fn

    return wrap


def post_call(endpoint_key: str) -> Callable[[F], F]:
    """Declare the decorated method as a post-call hook of ``category/endpoint`` (or
    ``category/sub_category/endpoint``).

    The hook receives ``(response, params)`` after cutoff filtering and key removal and
    returns the response the caller sees.
    """

    def wrap(fn: F) -> F:
        setattr(fn, _POST_CALL_ATTR, endpoint_key)
        return fn

    return wrap


def _slug(text: str) -> str:
    return text.strip().lower().replace(" ", "-")


@define(frozen=True, slots=True)
class ApiKey:
    """How a proxy sends its API key: as a header or a query parameter named ``name``, with
    the value read (by the adapter) from the environment variable ``env``. ``prefix`` goes
    before the value (``"Bearer "``)."""

    location: Literal["header", "query"]
    name: str
    env: str
    prefix: str = ""

    @classmethod
    def header(cls, name: str, *, env: str, prefix: str = "") -> ApiKey:
        """The key goes in header ``name``."""
        return cls("header", name, env, prefix)

    @classmethod
    def query(cls, name: str, *, env: str) -> ApiKey:
        """The key goes in query parameter ``name``."""
        return cls("query", name, env)


class Proxy:
    """Base class of proxies. Subclasses set the class attributes and declare endpoints with
    :func:`endpoint`; the runtime instantiates them without arguments."""

    base_url: ClassVar[str] = ""
    """The URL endpoint paths are appended to."""
    api_key: ClassVar[ApiKey | None] = None
    """How the API key is passed, or ``None`` for keyless APIs."""
    path: ClassVar[str] = ""
    """The registry key this proxy prefers (e.g. ``finance/fmp``); discovery uses it."""
    title: ClassVar[str] = ""
    """A display name (defaults to the class name)."""
    description: ClassVar[str] = ""
    """What the API offers, for catalogs."""
    notes: ClassVar[Mapping[str, str]] = EMPTY_MAPPING
    """Extra documentation sections (title → text) appended to full docs."""

    _endpoints: ClassVar[dict[str, EndpointSpec]] = {}
    _post_calls: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        endpoints: dict[str, EndpointSpec] = {}
        hooks: dict[str, str] = {}
        # Walk the MRO base-first so subclasses can override inherited endpoints.
        for klass in reversed(cls.__mro__):
            for attr, member in vars(klass).items():
                spec = getattr(member, _ENDPOINT_ATTR, None)
                if isinstance(spec, EndpointSpec):
                    other = endpoints.get(spec.key)
                    if other is not None and other.method_name != attr and klass is cls:
                        raise ProxyError(
                            f"{cls.__qualname__}: methods {other.method_name!r} and {attr!r} "
                            f"both declare endpoint {spec.key!r}; rename one"
                        )
                    endpoints[spec.key] = spec
                hook_key = getattr(member, _POST_CALL_ATTR, None)
                if isinstance(hook_key, str):
                    hooks[hook_key] = attr
        unknown = sorted(set(hooks) - set(endpoints))
        if unknown:
            raise ProxyError(
                f"{cls.__qualname__}: post_call hooks name unknown endpoints {unknown}; "
                f"declared endpoints are {sorted(endpoints)}"
            )
        cls._endpoints = endpoints
        cls._post_calls = hooks

    @classmethod
    def endpoints(cls) -> dict[str, EndpointSpec]:
        """Declared endpoints by ``category/endpoint`` key, in declaration order."""
        return dict(cls._endpoints)

    @classmethod
    def display_name(cls) -> str:
        """The title, or the class name."""
        return cls.title or cls.__name__

    def prepare(self, spec: EndpointSpec, params: dict[str, Any]) -> dict[str, Any]:
        """Run the endpoint's preparation hook on ``params``."""
        hook = getattr(self, spec.method_name, None)
        if hook is None:
            return params
        result = hook(params)
        return params if result is None else dict(result)

    def after_call(self, spec: EndpointSpec, response: Any, params: Mapping[str, Any]) -> Any:
        """Run the endpoint's post-call hook, if any."""
        name = self._post_calls.get(spec.key)
        if name is None:
            return response
        return getattr(self, name)(response, params)


# -- cutoff filtering ----------------------------------------------------------------------
#
# The rule (the original LLLM's): a response shows only what was known *before* the cutoff.
# Everything is compared as an instant on one clock:
#
# - the cutoff: a date means midnight at the start of that day in UTC; a datetime with a
#   timezone means that instant (midnight in New York: ``datetime(2024, 3, 1,
#   tzinfo=ZoneInfo("America/New_York"))``); a naive datetime is read in UTC;
# - the cutoff's zone (UTC unless the cutoff carries one) is the clock for values without one:
#   a naive datetime in a response is read in that zone;
# - a date-only value stands for the whole day, known once the day is over: it is kept when
#   the day ends (next midnight in the cutoff's zone) no later than the cutoff. With a date
#   cutoff that is simply "dated strictly before the cutoff day";
# - a value with an offset (``...Z``, ``...+09:00``) is that instant, whatever its local date.
#
# So the items dated *on* the cutoff day are dropped: same-day data leaking into a back-test is
# the failure cutoffs exist to prevent.

_UTC = dt.UTC


def parse_moment(value: Any, fmt: str = "%Y-%m-%d") -> dt.date | dt.datetime | None:
    """A response value as a date (date-only values) or a datetime (naive, or aware when it
    carries an offset), or ``None`` when it is not a date.

    Accepts ``date`` / ``datetime`` objects, ISO dates and datetimes (``Z`` included) and
    strings in the :func:`~datetime.datetime.strptime` format ``fmt`` (a format without a time
    part gives a date).
    """
    if isinstance(value, dt.date):  # datetimes too
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    # ISO first: fromisoformat is ~20x faster than strptime and covers most APIs.
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        parsed = dt.datetime.strptime(text, fmt)
    except ValueError:
        return None
    return parsed if _has_time(fmt) else parsed.date()


def _has_time(fmt: str) -> bool:
    return any(code in fmt for code in ("%H", "%I", "%M", "%S", "%f", "%z", "%X", "%c", "%p"))


def parse_date(value: Any, fmt: str = "%Y-%m-%d") -> dt.date | None:
    """The calendar date of a response value (see :func:`parse_moment`), or ``None``; a
    datetime's own date, as written, without converting its timezone."""
    moment = parse_moment(value, fmt)
    if isinstance(moment, dt.datetime):
        return moment.date()
    return moment


def cutoff_instant(cutoff: dt.date) -> dt.datetime:
    """The aware instant a cutoff stands for: a date is midnight at its start in UTC, a naive
    datetime is read in UTC, an aware datetime is itself."""
    if isinstance(cutoff, dt.datetime):
        return cutoff if cutoff.tzinfo is not None else cutoff.replace(tzinfo=_UTC)
    return dt.datetime.combine(cutoff, dt.time(0), _UTC)


def is_before_cutoff(moment: dt.date, cutoff: dt.date) -> bool:
    """Whether ``moment`` (a date or datetime from a response) was known before ``cutoff``,
    by the rule at the top of this section."""
    limit = cutoff_instant(cutoff)
    zone = limit.tzinfo or _UTC
    if isinstance(moment, dt.datetime):
        when = moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
        return when < limit
    try:
        day_over = dt.datetime.combine(moment + dt.timedelta(days=1), dt.time(0), zone)
    except OverflowError:
        return False
    return day_over <= limit


def remove_response_keys(response: Any, keys: Sequence[str]) -> Any:
    """``response`` without ``keys`` (a new value; nothing is mutated): removed from each dict
    item of a list response, or from a dict response itself. Other values pass unchanged."""
    if not keys:
        return response
    drop = frozenset(keys)
    if isinstance(response, list):
        return [
            {k: v for k, v in item.items() if k not in drop} if isinstance(item, Mapping) else item
            for item in response
        ]
    if isinstance(response, Mapping):
        return {k: v for k, v in response.items() if k not in drop}
    return response


def filter_by_cutoff(response: Any, cutoff: dt.date, field: DateField) -> Any:
    """``response`` without the items dated on or after ``cutoff`` (a new value; nothing is
    mutated).

    ``cutoff`` is a date or a datetime; see the rule above :func:`parse_moment` for dates
    with and without timezones. A list response keeps the items whose ``field.path`` date is
    before the cutoff; undated items are dropped too, since a back-test must never see what it
    cannot date. For a dict response, ``field.path`` leads through nested keys to a list that
    is filtered the same way; when it names the dict's own date and that date is not before
    the cutoff, the whole record becomes an ``{"error": ...}`` the model can read.
    """
    keys = [k for k in field.path.split("/") if k]
    if not keys:
        raise ProxyError(f"date field path {field.path!r} is empty")
    if isinstance(response, list):
        return _filter_items(response, keys, cutoff, field.format)
    if isinstance(response, Mapping):
        return _filter_mapping(response, keys, cutoff, field.format)
    return response


def _known(value: Any, cutoff: dt.date, fmt: str) -> bool:
    moment = parse_moment(value, fmt)
    return moment is not None and is_before_cutoff(moment, cutoff)


def _item_value(item: Any, keys: Sequence[str]) -> Any:
    value = item
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _filter_items(items: list[Any], keys: Sequence[str], cutoff: dt.date, fmt: str) -> list[Any]:
    return [item for item in items if _known(_item_value(item, keys), cutoff, fmt)]


def _filter_mapping(data: Mapping[str, Any], keys: Sequence[str], cutoff: dt.date, fmt: str) -> Any:
    head, rest = keys[0], keys[1:]
    if head not in data:
        return dict(data)
    value = data[head]
    if not rest:
        if _known(value, cutoff, fmt):
            return dict(data)
        return {
            "error": f"no data available: this record is dated {value!r}, not before the "
            f"current date {cutoff.isoformat()}; ask for data dated before it"
        }
    if isinstance(value, list):
        return {**data, head: _filter_items(value, rest, cutoff, fmt)}
    if isinstance(value, Mapping):
        return {**data, head: _filter_mapping(value, rest, cutoff, fmt)}
    return dict(data)


# -- settings ------------------------------------------------------------------------------


@define(frozen=True, slots=True)
class ProxySettings:
    """How a proxy runtime is set up; round-trips through :meth:`to_dict` / :meth:`from_dict`
    so a notebook kernel can rebuild the same runtime. Holds no secrets."""

    activate: tuple[str, ...] | None = None
    """Proxy paths to activate; ``None`` activates every registered proxy."""
    cutoff_date: dt.date | None = None
    """Responses show only items dated before this day (unless ``deploy_mode``). A
    ``datetime`` with a timezone sets the exact instant; see :func:`is_before_cutoff`."""
    deploy_mode: bool = False
    """Live use: no cutoff filtering."""
    use_cache: bool = True
    cache_dir: str | None = None
    """Where responses are cached (the adapter picks a default when ``None``)."""
    timeout: float = 30.0
    """Seconds per request."""
    max_retries: int = 3
    """Retries on 429, 5xx and transport errors."""
    base_urls: Mapping[str, str] = field(default=EMPTY_MAPPING)
    """Per-proxy base URL overrides (a mirror, a local test server)."""
    config_path: str | None = None
    """The ``lllm.toml`` whose discovery registers the proxies (for a fresh process)."""
    classes: Mapping[str, str] = field(default=EMPTY_MAPPING)
    """Proxy path → ``module:QualName``, to import proxy classes in a fresh process."""

    def __attrs_post_init__(self) -> None:
        if self.timeout <= 0:
            raise ConfigError(f"proxy timeout must be > 0 seconds, not {self.timeout}")
        if self.max_retries < 0:
            raise ConfigError(f"proxy max_retries must be >= 0, not {self.max_retries}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return {
            "activate": None if self.activate is None else list(self.activate),
            "cutoff_date": None if self.cutoff_date is None else self.cutoff_date.isoformat(),
            "deploy_mode": self.deploy_mode,
            "use_cache": self.use_cache,
            "cache_dir": self.cache_dir,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "base_urls": dict(self.base_urls),
            "config_path": self.config_path,
            "classes": dict(self.classes),
        }

    @classmethod
    def from_system_config(cls, config: SystemConfig, **overrides: Any) -> ProxySettings:
        """Settings for a system: its activated proxies (all registered when it lists none),
        cutoff date and deploy mode; ``overrides`` set any other field."""
        return cls(
            activate=config.activate_proxies or None,
            cutoff_date=config.cutoff_date,
            deploy_mode=config.deploy_mode,
            **overrides,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProxySettings:
        """Settings from :meth:`to_dict` output (unknown keys are an error)."""
        known = {a.name for a in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            hints = [
                f"{k!r} (did you mean {m[0]!r}?)"
                if (m := difflib.get_close_matches(k, known, 1))
                else repr(k)
                for k in unknown
            ]
            raise ConfigError(f"unknown proxy settings {', '.join(hints)}")
        values = dict(data)
        if values.get("activate") is not None:
            values["activate"] = tuple(values["activate"])
        cutoff = values.get("cutoff_date")
        if isinstance(cutoff, str):
            values["cutoff_date"] = _parse_cutoff(cutoff)
        for key in ("base_urls", "classes"):
            if key in values:
                values[key] = dict(values[key] or {})
        if "timeout" in values:
            values["timeout"] = float(values["timeout"])
        return cls(**values)


def _parse_cutoff(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"proxy cutoff_date must be a YYYY-MM-DD date (or an ISO datetime with its "
            f"offset, e.g. 2024-03-01T00:00-05:00), not {text!r}"
        ) from None


# -- the catalog of activated proxies ------------------------------------------------------


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
