"""A terminal frontend (rich) that shows a system's progress and logs every event.

Each call both renders to the terminal and appends one record to the ``frontend`` collection of
the log store, so a replay session can interleave what the user saw with the dialogs. Inside
``silent()`` nothing is rendered but every event is still logged. Needs the ``terminal`` extra
(``pip install "lllm-adapters[terminal]"``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from lllm_domain.ports import Frontend, LogStore

from lllm_adapters.extras import requires_extra
from lllm_adapters.frontend.events import FRONTEND, EventLog

with requires_extra("terminal", "lllm_adapters.frontend.terminal"):
    from rich.console import Console, RenderableType
    from rich.markdown import Markdown
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.progress_bar import ProgressBar
    from rich.syntax import Syntax
    from rich.table import Table
    from rich.text import Text

__all__ = ["FRONTEND", "TerminalFrontend"]


class TerminalFrontend:
    """A Streamlit-like surface rendered with rich, logged to ``log`` under ``session``.

    Every event is logged as ``{"event": <kind>, "path": [<enclosing expander titles>], ...}``.
    An expander cannot fold in a terminal: its title is shown, and what is written inside it is
    indented below (``expanded`` is logged for frontends that can fold); a status is an expander
    whose title is marked ``✔`` or ``✘`` when its block ends.
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        log: LogStore | None = None,
        session: str = "default",
        _events: EventLog | None = None,
    ) -> None:
        self.console = console if console is not None else Console()
        self._events = _events if _events is not None else EventLog(log, session)
        self.log = self._events.log
        self.session = self._events.session
        self._path = self._events.path

    def __repr__(self) -> str:
        return f"TerminalFrontend(session={self.session!r}, path={list(self._path)!r})"

    # -- the surface -------------------------------------------------------------------------

    def write(self, *objects: Any) -> None:
        """Show objects as text, separated by spaces."""
        text = " ".join(str(o) for o in objects)
        self._show(Text(text))
        self._log("write", text=text)

    def markdown(self, text: str) -> None:
        """Show Markdown."""
        self._show(Markdown(text))
        self._log("markdown", text=text)

    def code(self, text: str, language: str | None = None) -> None:
        """Show a code block, highlighted for ``language``."""
        self._show(Syntax(text, language or "text", word_wrap=True))
        self._log("code", text=text, language=language)

    def error(self, text: str) -> None:
        """Show an error."""
        self._show(Panel(Text(text), title="error", border_style="red", title_align="left"))
        self._log("error", text=text)

    def divider(self) -> None:
        """Show a horizontal rule."""
        self._show(Text("─" * max(10, self.console.width - 2 * len(self._path)), style="dim"))
        self._log("divider")

    def progress(self, fraction: float, text: str = "") -> None:
        """Show progress; ``fraction`` is clamped to [0, 1]."""
        value = min(1.0, max(0.0, float(fraction)))
        row = Table.grid(padding=(0, 1))
        row.add_row(ProgressBar(total=1.0, completed=value, width=30), f"{value:4.0%}", text)
        self._show(row)
        self._log("progress", fraction=value, text=text)

    @contextmanager
    def spinner(self, text: str) -> Iterator[None]:
        """Show ``text`` with a spinner while the block runs; log its start and end."""
        self._log("spinner", text=text, phase="start")
        ok = False
        try:
            if self._events.showing:
                with self.console.status(text):
                    yield
            else:
                yield
            ok = True
        finally:
            self._log("spinner", text=text, phase="end", ok=ok)

    @contextmanager
    def expander(self, title: str, expanded: bool = False) -> Iterator[Frontend]:
        """A titled section: writes to the yielded frontend are indented beneath the title."""
        self._show(Text(("▾ " if expanded else "▸ ") + title, style="bold"))
        self._log("expander", title=title, expanded=expanded, phase="start")
        child = TerminalFrontend(self.console, _events=self._events.nested(title))
        try:
            yield child
        finally:
            self._log("expander", title=title, expanded=expanded, phase="end")

    @contextmanager
    def status(self, label: str, expanded: bool = False) -> Iterator[Frontend]:
        """A step in progress: the label now, indented writes beneath it, and ``✔ label`` (or
        ``✘ label`` when the block raises) when it ends."""
        self._show(Text("… " + label, style="bold"))
        self._log("status", title=label, expanded=expanded, phase="start")
        ok = False
        try:
            yield TerminalFrontend(self.console, _events=self._events.nested(label))
            ok = True
        finally:
            mark = Text("✔ " + label, style="bold green") if ok else Text("✘ " + label, "red")
            self._show(mark)
            self._log("status", title=label, expanded=expanded, phase="end", ok=ok)

    def balloons(self) -> None:
        """Celebrate with a row of balloons."""
        self._show(Text("🎈" * 5))
        self._log("balloons")

    def snow(self) -> None:
        """Celebrate with a row of snowflakes."""
        self._show(Text("❄" * 5))
        self._log("snow")

    def silent(self) -> AbstractContextManager[None]:
        """Render nothing while the block runs (here and in every nested section); every event
        is still logged, marked ``"silent": true``."""
        return self._events.silent()

    # -- helpers -----------------------------------------------------------------------------

    def _show(self, renderable: RenderableType) -> None:
        if not self._events.showing:
            return
        indent = 2 * len(self._path)
        self.console.print(Padding(renderable, (0, 0, 0, indent)) if indent else renderable)

    def _log(self, event: str, **fields: Any) -> None:
        self._events.record(event, **fields)
