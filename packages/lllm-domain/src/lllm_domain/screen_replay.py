"""Screen replay: show a logged session's frontend events again on any :class:`Frontend`.

Frontends log each event they show to the ``frontend`` collection (``{"event": ..., "path":
[...], ...}``, containers as ``phase`` ``start`` / ``end`` pairs). :func:`replay_screen` walks
those records and calls the same methods on another frontend, so a session's screen can be
shown again, e.g. in a Streamlit app or a terminal, long after the run. Pure logic over the
:class:`~lllm_domain.ports.Frontend` and :class:`~lllm_domain.ports.LogStore` ports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, suppress
from typing import Any

from lllm_domain.errors import LLLMError
from lllm_domain.ports import Frontend, LogStore
from lllm_domain.replay import FRONTEND

_CONTAINERS = frozenset({"spinner", "expander", "status"})


class _ReplayedFailure(LLLMError):
    """Thrown into a replayed status or spinner whose block failed in the logged run, so the
    replaying frontend shows it as failed; never escapes :func:`replay_screen`."""


def replay_screen(
    events: Iterable[Mapping[str, Any]],
    frontend: Frontend,
    *,
    include_silent: bool = False,
) -> int:
    """Show logged frontend ``events`` (record data, oldest first) on ``frontend``; return how
    many were shown.

    Events logged inside ``silent()`` were never on screen and are skipped unless
    ``include_silent``; events of kinds this version does not know are skipped. Containers
    still open at the end (a run that stopped inside one) are closed.
    """
    # Open containers: each context manager and the frontend to write inside it.
    stack: list[tuple[str, AbstractContextManager[Any], Frontend]] = []
    shown = 0
    for event in events:
        if event.get("silent") and not include_silent:
            continue
        kind = str(event.get("event", ""))
        current = stack[-1][2] if stack else frontend
        if kind in _CONTAINERS:
            if event.get("phase") == "start":
                context = _open(current, kind, event)
                inner = context.__enter__()
                stack.append((kind, context, inner if kind != "spinner" else current))
                shown += 1
            elif event.get("phase") == "end" and stack and stack[-1][0] == kind:
                _, context, _ = stack.pop()
                _close(context, ok=event.get("ok", True) is not False)
            continue
        if _show(current, kind, event):
            shown += 1
    while stack:
        _close(stack.pop()[1], ok=True)
    return shown


def replay_session_screen(
    store: LogStore, session: str, frontend: Frontend, *, include_silent: bool = False
) -> int:
    """Show the frontend events ``store`` logged for ``session`` on ``frontend`` (see
    :func:`replay_screen`); return how many were shown."""
    records = [record.data for record in store.read(FRONTEND, session)]
    return replay_screen(records, frontend, include_silent=include_silent)


def _open(frontend: Frontend, kind: str, event: Mapping[str, Any]) -> AbstractContextManager[Any]:
    if kind == "spinner":
        return frontend.spinner(str(event.get("text", "")))
    title = str(event.get("title", ""))
    expanded = bool(event.get("expanded", False))
    if kind == "status":
        return frontend.status(title, expanded)
    return frontend.expander(title, expanded)


def _close(context: AbstractContextManager[Any], *, ok: bool) -> None:
    if ok:
        context.__exit__(None, None, None)
        return
    failure = _ReplayedFailure("failed in the logged run")
    # A context may re-raise what it was given: the failure is ours to drop.
    with suppress(_ReplayedFailure):
        context.__exit__(_ReplayedFailure, failure, None)


def _show(frontend: Frontend, kind: str, event: Mapping[str, Any]) -> bool:
    text = str(event.get("text") or "")
    if kind == "write":
        frontend.write(text)
    elif kind == "markdown":
        frontend.markdown(text)
    elif kind == "code":
        language = event.get("language")
        frontend.code(text, str(language) if language else None)
    elif kind == "error":
        frontend.error(text)
    elif kind == "divider":
        frontend.divider()
    elif kind == "progress":
        frontend.progress(float(event.get("fraction", 0.0)), text)
    elif kind == "balloons":
        frontend.balloons()
    elif kind == "snow":
        frontend.snow()
    else:
        return False
    return True
