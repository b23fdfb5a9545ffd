"""Frontends: the terminal (rich) implementation of :class:`lllm_domain.ports.Frontend`."""

from lllm_adapters.frontend.terminal import FRONTEND, TerminalFrontend

__all__ = ["FRONTEND", "TerminalFrontend"]
