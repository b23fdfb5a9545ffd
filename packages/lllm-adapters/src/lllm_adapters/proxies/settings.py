"""How a proxy runtime is set up (:class:`ProxySettings`), as a value that round-trips through
plain data so a fresh process (a notebook kernel) can rebuild the same runtime.

The settings belong to the adapter that reads them
(:class:`~lllm_adapters.proxies.HttpProxyRuntime`); the domain's proxies (``lllm_domain.proxy``)
know nothing of caches, timeouts or retries.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from attrs import define, field, fields
from lllm_domain.config import SystemConfig
from lllm_domain.errors import ConfigError
from lllm_domain.message import EMPTY_MAPPING
from lllm_domain.proxy import parse_moment
from lllm_domain.serialization import converter

if TYPE_CHECKING:
    import cattrs


@define(frozen=True, slots=True)
class ProxySettings:
    """How a proxy runtime is set up; round-trips through :meth:`to_dict` / :meth:`from_dict`
    so a notebook kernel can rebuild the same runtime. Holds no secrets."""

    activate: tuple[str, ...] | None = None
    """Proxy paths to activate; ``None`` activates every registered proxy."""
    cutoff_date: dt.date | None = None
    """Responses show only items dated before this day (unless ``deploy_mode``). A
    ``datetime`` with a timezone sets the exact instant; see
    :func:`lllm_domain.proxy.is_before_cutoff`."""
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
        """Plain data (JSON-ready): every field, ``cutoff_date`` as an ISO date (or datetime)."""
        data: dict[str, Any] = _converter().unstructure(self, ProxySettings)
        return data

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
        """Settings from :meth:`to_dict` output (missing keys take their defaults; unknown keys
        are a :class:`~lllm_domain.errors.ConfigError` naming the closest known key)."""
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
        # ``None`` for a mapping means "none given", as older writers sometimes stored it.
        values = {k: ({} if v is None and k in _MAPPINGS else v) for k, v in data.items()}
        return _converter().structure(values, cls)


_MAPPINGS = frozenset({"base_urls", "classes"})


@cache
def _converter() -> cattrs.Converter:
    # The domain's converter, writing every field (the format kernels and saved sessions read)
    # and letting ConfigError from the value itself through unwrapped.
    conv = converter().copy(omit_if_default=False, detailed_validation=False)
    conv.register_unstructure_hook(dt.date, _iso)
    conv.register_structure_hook(dt.date, _structure_cutoff)
    return conv


def _iso(value: dt.date) -> str:
    return value.isoformat()  # a datetime (a subclass) keeps its time and offset


def _structure_cutoff(value: Any, _: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return _parse_cutoff(value)
    raise ConfigError(
        f"proxy cutoff_date must be a YYYY-MM-DD date string, not {type(value).__name__} {value!r}"
    )


def _parse_cutoff(text: str) -> dt.date:
    moment = parse_moment(text)  # the reading the cutoff rule gives response dates
    if moment is None:
        raise ConfigError(
            f"proxy cutoff_date must be a YYYY-MM-DD date (or an ISO datetime with its "
            f"offset, e.g. 2024-03-01T00:00-05:00), not {text!r}"
        )
    return moment


__all__ = ["ProxySettings"]
