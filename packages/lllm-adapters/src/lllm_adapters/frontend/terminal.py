"""A terminal frontend (rich) that shows a system's progress and logs every event.

Each call both renders to the terminal and appends one record to the ``frontend`` collection of
the log store, so a replay session can interleave what the user saw with the dialogs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lllm_domain.ports import Frontend, LogStore
from rich.console import Console, RenderableType
from rich.markdown import Markdown
from rich.padding import Padding
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

FRONTEND = "frontend"
"""The log collection frontend events go to."""


class TerminalFrontend:
    """A Streamlit-like surface rendered with rich, logged to ``log`` under ``session``.

    Every event is logged as ``{"event": <kind>, "path": [<enclosing expander titles>], ...}``.
    An expander cannot fold in a terminal: its title is shown, and what is written inside it is
    indented below (``expanded`` is logged for frontends that can fold).
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        log: LogStore | None = None,
        session: str = "default",
        _path: tuple[str, ...] = (),
    ) -> None:
        self.console = console if console is not None else Console()
        self.log = log
        self.session = session
        self._path = _path

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
            with self.console.status(text):
                yield
            ok = True
        finally:
            self._log("spinner", text=text, phase="end", ok=ok)

    @contextmanager
    def expander(self, title: str, expanded: bool = False) -> Iterator[Frontend]:
        """A titled section: writes to the yielded frontend are indented beneath the title."""
        self._show(Text(("▾ " if expanded else "▸ ") + title, style="bold"))
        self._log("expander", title=title, expanded=expanded, phase="start")
        child = TerminalFrontend(
            self.console, log=self.log, session=self.session, _path=(*self._path, title)
        )
        try:
            yield child
        finally:
            self._log("expander", title=title, expanded=expanded, phase="end")

    # -- helpers -----------------------------------------------------------------------------

    def _show(self, renderable: RenderableType) -> None:
        indent = 2 * len(self._path)
        self.console.print(Padding(renderable, (0, 0, 0, indent)) if indent else renderable)

    def _log(self, event: str, **fields: Any) -> None:
        if self.log is not None:
            record: Mapping[str, Any] = {"event": event, "path": list(self._path), **fields}
            self.log.append(FRONTEND, self.session, record)
