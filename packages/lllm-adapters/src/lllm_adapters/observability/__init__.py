"""Observability: structlog configuration and secret redaction for log lines, log records and
terminal output.

The names are loaded on first use, so that the CLI can redact its output without paying for
structlog's import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lllm_adapters.observability.logging_config import (
        RedactSecrets,
        Renderer,
        configure_logging,
        get_logger,
    )
    from lllm_adapters.observability.redacting_stream import RedactingTextStream
    from lllm_adapters.observability.redaction import PLACEHOLDER, Redactor

_EXPORTS = {
    "PLACEHOLDER": "lllm_adapters.observability.redaction",
    "RedactSecrets": "lllm_adapters.observability.logging_config",
    "RedactingTextStream": "lllm_adapters.observability.redacting_stream",
    "Redactor": "lllm_adapters.observability.redaction",
    "Renderer": "lllm_adapters.observability.logging_config",
    "configure_logging": "lllm_adapters.observability.logging_config",
    "get_logger": "lllm_adapters.observability.logging_config",
}

__all__ = [
    "PLACEHOLDER",
    "RedactSecrets",
    "RedactingTextStream",
    "Redactor",
    "Renderer",
    "configure_logging",
    "get_logger",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lllm_adapters.observability' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
