"""Declaring a proxy: the :class:`Proxy` base class, its :class:`ApiKey`, the :func:`endpoint`
and :func:`post_call` decorators and the values they record (:class:`Param`,
:class:`DateField`, :class:`EndpointSpec`)."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Literal, TypeVar

from attrs import define

from lllm_domain.errors import ProxyError
from lllm_domain.function import JSON_PYTHON_TYPES
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
