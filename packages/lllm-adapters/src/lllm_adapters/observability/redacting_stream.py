"""A text stream that redacts secrets from everything written through it (the CLI's stdout and
stderr), so what a terminal shows is as clean as the logged copy.

Complete lines are redacted and passed on at once. A partial line (streamed model text, a
prompt) is passed on when flushed, except for an unfinished tail that may be the start of a
secret (see :meth:`Redactor.held_tail`): that waits for the rest of its line, so a key split
across two writes is still recognised whole.
"""

from __future__ import annotations

import threading
from typing import Any, TextIO

from lllm_adapters.observability.redaction import Redactor

_MAX_HELD = 65_536
"""A partial line longer than this is passed on (redacted) even if its tail must wait."""


class RedactingTextStream:
    """Wraps ``inner`` (e.g. ``sys.stdout``); everything written reaches it redacted.

    ``redactor`` defaults to one built from the environment on first use. Call :meth:`finish`
    when done, to pass on what a partial line still holds back. Attributes this class does not
    define (``encoding``, ``isatty``, ``fileno``, ...) are those of ``inner``; bytes written to
    ``inner.buffer`` directly bypass it.
    """

    def __init__(self, inner: TextIO, redactor: Redactor | None = None) -> None:
        self.inner = inner
        self._redactor = redactor
        self._pending = ""
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RedactingTextStream({self.inner!r})"

    @property
    def redactor(self) -> Redactor:
        """The redactor in use (built from the environment on first use)."""
        if self._redactor is None:
            self._redactor = Redactor.from_environment()
        return self._redactor

    def write(self, text: str) -> int:
        """Take ``text``; complete lines are passed on at once, redacted."""
        if not text:
            return 0
        with self._lock:
            pending = self._pending + text
            newline = pending.rfind("\n")
            if newline >= 0:
                self._emit(pending[: newline + 1])
                pending = pending[newline + 1 :]
            if len(pending) > _MAX_HELD:
                self._emit(pending)
                pending = ""
            self._pending = pending
        return len(text)

    def writelines(self, lines: Any) -> None:
        """Write each of ``lines``."""
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Pass on the partial line, but for a tail that may be the start of a secret."""
        with self._lock:
            pending = self._pending
            if pending:
                cut = self.redactor.held_tail(pending)
                if cut:
                    self._emit(pending[:cut])
                    self._pending = pending[cut:]
        self.inner.flush()

    def finish(self) -> None:
        """Pass on everything still held back (redacted) and flush ``inner``."""
        with self._lock:
            if self._pending:
                self._emit(self._pending)
                self._pending = ""
        self.inner.flush()

    def _emit(self, text: str) -> None:
        self.inner.write(self.redactor.redact_text(text))

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not defined here: isatty, fileno, encoding, buffer, ...
        return getattr(self.inner, name)
