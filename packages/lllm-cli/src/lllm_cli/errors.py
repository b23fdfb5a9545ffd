"""Errors the `lllm` command raises for user mistakes (printed as one line, exit status 2)."""

from __future__ import annotations

from lllm_domain.errors import LLLMError


class CommandError(LLLMError):
    """A command cannot do what was asked: a bad name, an existing folder, a missing key, ..."""
