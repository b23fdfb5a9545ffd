"""Frontends: implementations of :class:`lllm_domain.ports.Frontend`.

- :class:`TerminalFrontend` renders with rich (always installed);
- :class:`StreamlitFrontend` renders in a Streamlit app (the ``streamlit`` extra:
  ``pip install "lllm-adapters[streamlit]"``), imported only when first used, so importing this
  package never imports Streamlit.

Both log every event to the ``frontend`` collection in the same shape (:mod:`.events`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lllm_adapters.frontend.events import FRONTEND, EventLog
from lllm_adapters.frontend.terminal import TerminalFrontend

if TYPE_CHECKING:
    from lllm_adapters.frontend.streamlit import StreamlitFrontend

__all__ = ["FRONTEND", "EventLog", "StreamlitFrontend", "TerminalFrontend"]


def __getattr__(name: str) -> Any:
    if name == "StreamlitFrontend":
        return importlib.import_module("lllm_adapters.frontend.streamlit").StreamlitFrontend
    raise AttributeError(f"module 'lllm_adapters.frontend' has no attribute {name!r}")
