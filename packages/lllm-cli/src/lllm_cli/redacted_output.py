"""Everything the `lllm` command prints passes through the redactor of the logs.

Error lines quote what servers said (a 401 may echo the key), a system shows tool results, and
users' own code prints: the command wraps ``sys.stdout`` and ``sys.stderr`` once, for the whole
command, so no output path can forget to redact.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, cast


class Output:
    """What :func:`redacted_output` found when it finished."""

    __slots__ = ("pipe_closed",)

    def __init__(self) -> None:
        self.pipe_closed = False
        """Whether the reader of the output went away before the rest could be written."""


@contextmanager
def redacted_output() -> Iterator[Output]:
    """Redact ``sys.stdout`` and ``sys.stderr`` while the block runs, then restore them (after
    passing on what a partial line held back)."""
    from lllm_adapters.observability.redacting_stream import RedactingTextStream
    from lllm_adapters.observability.redaction import Redactor

    redactor = Redactor.from_environment()
    saved = (sys.stdout, sys.stderr)
    out = RedactingTextStream(saved[0], redactor)
    err = RedactingTextStream(saved[1], redactor)
    sys.stdout = cast(TextIO, out)
    sys.stderr = cast(TextIO, err)
    result = Output()
    try:
        yield result
    finally:
        sys.stdout, sys.stderr = saved
        for stream in (out, err):
            try:
                stream.finish()
            except BrokenPipeError:
                result.pipe_closed = True
            except (OSError, ValueError):
                pass  # the stream was closed under us: there is nobody to tell
