"""The terminal frontend a run shows its events on (and logs them through)."""

from __future__ import annotations

from lllm_domain.ports import Frontend, LogStore


def make_frontend(store: LogStore | None, session: str) -> Frontend:
    """A rich terminal frontend that also logs each event to ``store`` under ``session``."""
    from lllm_adapters.frontend import TerminalFrontend

    return TerminalFrontend(log=store, session=session)
