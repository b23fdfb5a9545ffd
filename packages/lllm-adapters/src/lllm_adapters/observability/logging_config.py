"""Framework logging through structlog, configured by the composition root (never at import).

People get a coloured console renderer, machines one JSON object per line. Every line passes
through :class:`RedactSecrets` first, so API keys, ``Authorization`` values and the values of
``*_KEY`` / ``*_TOKEN`` / ``*_SECRET`` environment variables never reach the output.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO

import structlog

from lllm_adapters.observability.redaction import Redactor

Renderer = Literal["console", "json"]


class RedactSecrets:
    """A structlog processor that removes secrets from every value of the event dict."""

    __slots__ = ("redactor",)

    def __init__(self, redactor: Redactor | None = None) -> None:
        self.redactor = redactor if redactor is not None else Redactor.from_environment()

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """Redact ``event_dict`` (the structlog processor signature)."""
        redacted: dict[str, Any] = self.redactor.redact(dict(event_dict))
        return redacted


def configure_logging(
    *,
    renderer: Renderer | None = None,
    level: int | str = logging.INFO,
    redactor: Redactor | None = None,
    stream: TextIO | None = None,
) -> None:
    """Configure structlog for the whole process.

    ``renderer`` picks ``"console"`` (for people) or ``"json"`` (one object per line, for
    machines); by default ``console`` when ``stream`` is a terminal, ``json`` otherwise.
    ``redactor`` defaults to one built from the current environment. Call this once, from the
    composition root (the CLI or your own ``main``); importing LLLM never configures logging.
    The domain's standard ``logging`` records (logger ``lllm_domain``: e.g. each retry of a
    failed model request) are routed through the same processors at the same level.
    """
    out = stream if stream is not None else sys.stderr
    if renderer is None:
        renderer = "console" if out.isatty() else "json"
    numeric_level = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING or ERROR")
    final: Any = (
        structlog.dev.ConsoleRenderer(colors=out.isatty())
        if renderer == "console"
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            RedactSecrets(redactor),
            final,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    _route_domain_logging(numeric_level)


DOMAIN_LOGGER = "lllm_domain"
"""The standard ``logging`` logger the domain reports through (it cannot import structlog):
e.g. each retry of a failed model request (``lllm_domain.agent_call.RETRY_LOGGER``)."""


class StdlibToStructlog(logging.Handler):
    """Passes the domain's standard ``logging`` records on to structlog, so they are rendered
    (and redacted) like every other framework line. A record's ``event`` and ``fields`` extras
    become the event name and its key-value pairs; otherwise the message is the event."""

    def emit(self, record: logging.LogRecord) -> None:
        """Log ``record`` through structlog at its level."""
        try:
            event = getattr(record, "event", None) or record.getMessage()
            fields = getattr(record, "fields", None)
            extra = dict(fields) if isinstance(fields, dict) else {}
            structlog.get_logger().log(record.levelno, event, logger=record.name, **extra)
        except Exception:
            self.handleError(record)


def _route_domain_logging(level: int) -> None:
    logger = logging.getLogger(DOMAIN_LOGGER)
    for handler in list(logger.handlers):
        if isinstance(handler, StdlibToStructlog):
            logger.removeHandler(handler)
    logger.addHandler(StdlibToStructlog())
    logger.setLevel(level)


def get_logger(name: str | None = None, **context: Any) -> Any:
    """A structlog logger bound to ``name`` (as ``logger``) and ``context``."""
    logger = structlog.get_logger()
    if name is not None:
        context = {"logger": name, **context}
    return logger.bind(**context) if context else logger
