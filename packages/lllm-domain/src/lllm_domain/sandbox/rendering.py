"""Cell outputs as the text a model reads: truncation, rich data noted by MIME type, terminal
colour codes stripped."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from lllm_domain.sandbox.values import CellOutput, ErrorOutput, RunStatus, StreamOutput

TRUNCATION_MARKER = "\n[... output truncated: {omitted} more characters not shown ...]\n"
"""Inserted where output was cut; ``{omitted}`` is the number of characters left out."""


def truncate_text(text: str, max_chars: int | None) -> tuple[str, bool]:
    """Cut ``text`` to ``max_chars`` (plus a clear marker); return it and whether it was cut."""
    if max_chars is None or len(text) <= max_chars:
        return text, False
    return text[:max_chars] + TRUNCATION_MARKER.format(omitted=len(text) - max_chars), True


def render_outputs(
    outputs: Sequence[CellOutput], *, max_chars: int | None = None, status: RunStatus | None = None
) -> str:
    """Outputs as the text a model reads: streams and ``text/plain`` as they are, without
    terminal colour codes; images and other rich data noted by MIME type."""
    parts: list[str] = []
    for output in outputs:
        if isinstance(output, StreamOutput):
            parts.append(strip_ansi(output.text))
        elif isinstance(output, ErrorOutput):
            lines = [strip_ansi(line) for line in output.traceback] or [
                f"{output.ename}: {output.evalue}"
            ]
            parts.append("\n".join(lines) + "\n")
        else:
            parts.append(_render_bundle(output.data))
    if status is RunStatus.TIMEOUT:
        parts.append("[the cell ran past its timeout and was interrupted]\n")
    elif status is RunStatus.KERNEL_DIED:
        parts.append("[the kernel died while running the cell; it was restarted, state is lost]\n")
    text = "".join(parts)
    return truncate_text(text, max_chars)[0]


def _render_bundle(data: Mapping[str, Any]) -> str:
    notes = [
        f"[{mime} output not shown as text]"
        for mime in data
        if mime.startswith("image/") or mime not in ("text/plain", "text/html", "text/markdown")
    ]
    plain = data.get("text/plain")
    text = _joined(plain) if plain is not None else ""
    if not text and "text/markdown" in data:
        text = _joined(data["text/markdown"])
    elif not text and "text/html" in data:
        text = "[text/html output]"
    return "\n".join([t for t in [text, *notes] if t]) + "\n"


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def strip_ansi(text: str) -> str:
    """``text`` without terminal colour codes (IPython colours its tracebacks)."""
    return _ANSI.sub("", text)


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
