"""Observability: structlog configuration and secret redaction for log lines and records."""

from lllm_adapters.observability.logging_config import (
    RedactSecrets,
    Renderer,
    configure_logging,
    get_logger,
)
from lllm_adapters.observability.redaction import PLACEHOLDER, Redactor

__all__ = [
    "PLACEHOLDER",
    "RedactSecrets",
    "Redactor",
    "Renderer",
    "configure_logging",
    "get_logger",
]
