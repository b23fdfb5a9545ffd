"""A Streamlit frontend: shows a system's progress in a Streamlit app and logs every event.

Needs the ``streamlit`` extra (``pip install "lllm-adapters[streamlit]"``). Each call both
renders into the app and appends one record to the ``frontend`` collection of the log store, in
the same shape as the terminal frontend's, so ``lllm logs show`` and replay sessions interleave
what the user saw with the dialogs. Inside ``silent()`` nothing is rendered but every event is
still logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from lllm_domain.ports import Frontend, LogStore

from lllm_adapters.extras import requires_extra
from lllm_adapters.frontend.events import FRONTEND, EventLog

with requires_extra("streamlit", "lllm_adapters.frontend.streamlit"):
    import streamlit as st

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator
    from streamlit.elements.lib.mutable_status_container import StatusContainer

__all__ = ["FRONTEND", "StreamlitFrontend", "Surface"]


class Surface(Protocol):
    """Where a :class:`StreamlitFrontend` renders: the ``streamlit`` module itself (the app's
    main area, or whatever ``with`` container is active) or any container Streamlit returns
    (``st.container()``, ``st.sidebar``, a column, an expander)."""

    def write(self, *args: Any) -> Any:
        """``st.write``."""
        ...

    def markdown(self, body: str, /) -> Any:
        """``st.markdown``."""
        ...

    def code(self, body: str, /, language: str | None = ...) -> Any:
        """``st.code``."""
        ...

    def error(self, body: str, /) -> Any:
        """``st.error``."""
        ...

    def divider(self) -> Any:
        """``st.divider``."""
        ...

    def progress(self, value: float, /, text: str | None = ...) -> DeltaGenerator:
        """``st.progress``."""
        ...

    def spinner(self, text: str = ...) -> AbstractContextManager[Any]:
        """``st.spinner``."""
        ...

    def expander(self, label: str, /, expanded: bool = ...) -> DeltaGenerator:
        """``st.expander``."""
        ...

    def status(self, label: str, /, *, expanded: bool = ...) -> StatusContainer:
        """``st.status``."""
        ...

    def balloons(self) -> Any:
        """``st.balloons``."""
        ...

    def snow(self) -> Any:
        """``st.snow``."""
        ...


class StreamlitFrontend:
    """:class:`lllm_domain.ports.Frontend` rendered with Streamlit, logged to ``log`` under
    ``session``.

    ``surface`` is where it renders: the app's main area by default, or any Streamlit container
    (``st.sidebar``, ``st.container()``, a column). Every event is logged as ``{"event": <kind>,
    "path": [<enclosing expander and status titles>], ...}``, exactly as the terminal frontend
    logs it. Create it inside the script run (a new one per run is cheap): :meth:`progress`
    updates one bar in place, the bar this frontend created in the current run.
    """

    def __init__(
        self,
        surface: Surface | None = None,
        *,
        log: LogStore | None = None,
        session: str = "default",
        _events: EventLog | None = None,
    ) -> None:
        self._surface: Surface = surface if surface is not None else st
        self._events = _events if _events is not None else EventLog(log, session)
        self._bar: DeltaGenerator | None = None

    @property
    def log(self) -> LogStore | None:
        """The log store events are appended to (``None``: not logged)."""
        return self._events.log

    @property
    def session(self) -> str:
        """The session events are logged under."""
        return self._events.session

    def __repr__(self) -> str:
        return f"StreamlitFrontend(session={self.session!r}, path={list(self._events.path)!r})"

    # -- the surface -------------------------------------------------------------------------

    def write(self, *objects: Any) -> None:
        """Show objects with ``st.write`` (text as Markdown, data as tables, ...); the log
        holds their text, separated by spaces."""
        if self._events.showing:
            self._surface.write(*objects)
        self._events.record("write", text=" ".join(str(o) for o in objects))

    def markdown(self, text: str) -> None:
        """Show Markdown."""
        if self._events.showing:
            self._surface.markdown(text)
        self._events.record("markdown", text=text)

    def code(self, text: str, language: str | None = None) -> None:
        """Show a code block, highlighted for ``language`` (plain when ``None``)."""
        if self._events.showing:
            self._surface.code(text, language=language)
        self._events.record("code", text=text, language=language)

    def error(self, text: str) -> None:
        """Show an error box."""
        if self._events.showing:
            self._surface.error(text)
        self._events.record("error", text=text)

    def divider(self) -> None:
        """Show a horizontal rule."""
        if self._events.showing:
            self._surface.divider()
        self._events.record("divider")

    def progress(self, fraction: float, text: str = "") -> None:
        """Show progress on this frontend's bar (created by the first call, then updated);
        ``fraction`` is clamped to [0, 1]."""
        value = min(1.0, max(0.0, float(fraction)))
        if self._events.showing:
            if self._bar is None:
                self._bar = self._surface.progress(value, text=text or None)
            else:
                self._bar.progress(value, text=text or None)
        self._events.record("progress", fraction=value, text=text)

    @contextmanager
    def spinner(self, text: str) -> Iterator[None]:
        """Show ``text`` with a spinner while the block runs; log its start and end."""
        self._events.record("spinner", text=text, phase="start")
        ok = False
        try:
            if self._events.showing:
                with self._surface.spinner(text):
                    yield
            else:
                yield
            ok = True
        finally:
            self._events.record("spinner", text=text, phase="end", ok=ok)

    @contextmanager
    def expander(self, title: str, expanded: bool = False) -> Iterator[Frontend]:
        """A collapsible section; writes to the yielded frontend go into it."""
        self._events.record("expander", title=title, expanded=expanded, phase="start")
        box = self._surface.expander(title, expanded=expanded) if self._events.showing else None
        try:
            yield StreamlitFrontend(box, _events=self._events.nested(title))
        finally:
            self._events.record("expander", title=title, expanded=expanded, phase="end")

    @contextmanager
    def status(self, label: str, expanded: bool = False) -> Iterator[Frontend]:
        """A status container (``st.status``): running while the block runs, then complete, or
        error when the block raises; writes to the yielded frontend go into it."""
        self._events.record("status", title=label, expanded=expanded, phase="start")
        box = self._surface.status(label, expanded=expanded) if self._events.showing else None
        ok = False
        try:
            yield StreamlitFrontend(box, _events=self._events.nested(label))
            ok = True
        finally:
            if box is not None:
                box.update(state="complete" if ok else "error")
            self._events.record("status", title=label, expanded=expanded, phase="end", ok=ok)

    def balloons(self) -> None:
        """Float balloons up the app."""
        if self._events.showing:
            self._surface.balloons()
        self._events.record("balloons")

    def snow(self) -> None:
        """Let it snow on the app."""
        if self._events.showing:
            self._surface.snow()
        self._events.record("snow")

    def silent(self) -> AbstractContextManager[None]:
        """Render nothing while the block runs (here and in every nested container); every
        event is still logged, marked ``"silent": true``."""
        return self._events.silent()


if TYPE_CHECKING:

    def _implements_the_port(frontend: StreamlitFrontend) -> Frontend:
        return frontend  # mypy checks that StreamlitFrontend satisfies the Frontend port
