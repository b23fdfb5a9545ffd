"""Frontends: implementations of :class:`lllm_domain.ports.Frontend`.

- :class:`TerminalFrontend` renders with rich (the ``terminal`` extra:
  ``pip install "lllm-adapters[terminal]"``);
- :class:`StreamlitFrontend` renders in a Streamlit app (the ``streamlit`` extra:
  ``pip install "lllm-adapters[streamlit]"``).

Both are imported when first used, so importing this package needs neither extra.

Both log every event to the ``frontend`` collection in the same shape (:mod:`.events`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lllm_adapters.frontend.events import FRONTEND, EventLog

if TYPE_CHECKING:
    from lllm_adapters.frontend.streamlit import StreamlitFrontend
    from lllm_adapters.frontend.terminal import TerminalFrontend

_EXPORTS = {
    "StreamlitFrontend": "lllm_adapters.frontend.streamlit",
    "TerminalFrontend": "lllm_adapters.frontend.terminal",
}

__all__ = ["FRONTEND", "EventLog", "StreamlitFrontend", "TerminalFrontend"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lllm_adapters.frontend' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
