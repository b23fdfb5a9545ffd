"""Tool sources: where a prompt or an agent draws tools from besides its own functions.

A :class:`ToolSource` is a port: something outside the domain (an MCP server, through
``lllm_adapters.mcp``) that lists tools as ready-to-run :class:`~lllm_domain.function.Function`
objects. The agent asks its sources for their tools at the start of every agent call, merges them
with the prompt's own functions (:func:`merge_tools`) and offers the result to the model like any
local tool; a source caches its listing, so asking again costs nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from attrs import evolve

from lllm_domain.function import Function

NAMESPACE_SEPARATOR = "__"
"""Between a source's name and a tool name, when a clash makes the tool namespaced."""


@runtime_checkable
class ToolSource(Protocol):
    """A named provider of tools (e.g. one MCP server).

    ``functions`` serves sync agent calls and ``afunctions`` async ones: each returns linked
    Functions whose calls never raise and never hang (a failure is an error result for the
    model). A source that cannot list its tools right now returns none and says so in its log;
    it must not raise, so one unreachable server does not stop an agent call.
    """

    @property
    def name(self) -> str:
        """The source's name: the namespace its tools get when their names clash."""
        ...

    def functions(self) -> Sequence[Function]:
        """The source's tools, with callables a sync agent call can run."""
        ...

    async def afunctions(self) -> Sequence[Function]:
        """The source's tools, with callables an async agent call awaits."""
        ...


def namespaced(source: str, name: str) -> str:
    """``name`` of ``source`` as a namespaced tool name (``source__name``, at most 64 valid
    characters)."""
    prefix = re.sub(r"[^A-Za-z0-9_-]", "_", source) or "source"
    return f"{prefix}{NAMESPACE_SEPARATOR}{name}"[:64]


def merge_tools(
    local: Sequence[Function], drawn: Sequence[tuple[str, Sequence[Function]]]
) -> tuple[Function, ...]:
    """The prompt's ``local`` functions followed by the ``drawn`` ones, given as (source name,
    functions) pairs.

    A drawn tool whose name is also offered by a local function or by another source is renamed
    to ``source__name`` (:func:`namespaced`); local functions keep their names. A name that
    still clashes after that (two sources of the same name) keeps only its first tool.
    """
    counts = Counter(f.name for f in local)
    for _, functions in drawn:
        counts.update({f.name for f in functions})
    merged = list(local)
    seen = {f.name for f in local}
    for source, functions in drawn:
        for function in functions:
            name = function.name
            if counts[name] > 1:
                name = namespaced(source, name)
            if name in seen:
                continue
            seen.add(name)
            merged.append(function if name == function.name else evolve(function, name=name))
    return tuple(merged)
