"""What a Jupyter session needs to rebuild its notebook and init cell (:class:`SessionMetadata`).

The value belongs to the adapter that reads it; the domain's sandbox ports only ask that a
session's metadata turn into plain data (:class:`lllm_domain.sandbox.SessionSpec`). It is saved
in the notebook's metadata, so its plain-data form (:meth:`SessionMetadata.to_dict`) is kept
stable: every field, always present.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from attrs import define, fields
from lllm_domain.message import EMPTY_MAPPING
from lllm_domain.serialization import converter

if TYPE_CHECKING:
    import cattrs

    from lllm_adapters.proxies.settings import ProxySettings


@define(frozen=True, slots=True)
class SessionMetadata:
    """What a session needs to rebuild its notebook and init cell.

    ``proxies`` lists the proxy paths to activate; ``proxy_settings`` are further runtime
    settings (:class:`~lllm_adapters.proxies.settings.ProxySettings` keys) passed through as they
    are. With neither, the init cell builds no proxy runtime and defines no ``CALL_API``;
    ``cutoff_date`` is the ISO date after which proxy results are dropped; ``project_root`` is
    put on the kernel's ``sys.path``. ``proxy_runtime_factory`` (``module:function``) overrides
    where the runtime is built from — mainly for tests and custom runtimes.
    """

    project_root: str | None = None
    proxies: tuple[str, ...] = ()
    cutoff_date: str | None = None
    deploy_mode: bool = False
    proxy_settings: Mapping[str, Any] = EMPTY_MAPPING
    proxy_runtime_factory: str | None = None
    extra: Mapping[str, Any] = EMPTY_MAPPING

    @property
    def uses_proxies(self) -> bool:
        """Whether the init cell builds a proxy runtime."""
        return bool(self.proxies) or bool(self.proxy_settings)

    def runtime_settings(self) -> dict[str, Any]:
        """The settings dict handed to the proxy runtime factory: ``proxy_settings`` (keys of
        :meth:`~lllm_adapters.proxies.settings.ProxySettings.to_dict`) with ``activate``,
        ``cutoff_date`` and ``deploy_mode`` filled in from this metadata where
        ``proxy_settings`` leaves them out."""
        settings: dict[str, Any] = dict(self.proxy_settings)
        if self.proxies:
            settings.setdefault("activate", list(self.proxies))
        if self.cutoff_date is not None:
            settings.setdefault("cutoff_date", self.cutoff_date)
        if self.deploy_mode:
            settings.setdefault("deploy_mode", True)
        return settings

    @classmethod
    def for_proxies(
        cls, settings: ProxySettings, *, project_root: str | None = None, **kwargs: Any
    ) -> SessionMetadata:
        """Metadata whose init cell rebuilds the runtime described by ``settings``."""
        data = settings.to_dict()
        return cls(
            project_root=project_root,
            proxies=tuple(settings.activate or ()),
            cutoff_date=data["cutoff_date"],
            deploy_mode=settings.deploy_mode,
            proxy_settings=data,
            **kwargs,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready): every field, sequences as lists."""
        data: dict[str, Any] = _converter().unstructure(self, SessionMetadata)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SessionMetadata:
        """Read what :meth:`to_dict` wrote (missing keys and ``None`` values take their
        defaults; unknown keys go to ``extra``)."""
        given = dict(data or {})
        values = {k: v for k, v in given.items() if k in _FIELDS and v is not None}
        extra = dict(values.pop("extra", {}))
        extra.update({k: v for k, v in given.items() if k not in _FIELDS})
        return _converter().structure({**values, "extra": extra}, cls)


_FIELDS = frozenset(a.name for a in fields(SessionMetadata))


@cache
def _converter() -> cattrs.Converter:
    # The domain's converter, writing every field: this is the format saved notebooks hold.
    return converter().copy(omit_if_default=False, detailed_validation=False)


__all__ = ["SessionMetadata"]
