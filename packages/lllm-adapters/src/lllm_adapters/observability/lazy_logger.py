"""A structlog logger that imports structlog on its first use, not when its module is imported.

Importing structlog imports its console renderer and, with it, rich and pygments when they are
installed: some 20,000 objects that every full garbage collection of the process then walks
(about 10 ms of a stalled event loop on a small machine). An adapter whose hot path only logs
on rare occasions (a silent stream, an unavailable server) keeps that cost out of processes that
never log.
"""

from __future__ import annotations

from typing import Any


class LazyLogger:
    """Stands for ``structlog.get_logger(name)``: any method call (``warning``, ``info``, ...)
    imports structlog and binds the real logger, under the logging configuration of that
    moment."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __repr__(self) -> str:
        return f"LazyLogger({self._name!r})"

    def __getattr__(self, attr: str) -> Any:
        logger = self._logger
        if logger is None:
            import structlog

            logger = self._logger = structlog.get_logger(self._name)
        return getattr(logger, attr)


def get_logger(name: str) -> LazyLogger:
    """A logger named ``name`` that imports structlog on first use (see :class:`LazyLogger`)."""
    return LazyLogger(name)
