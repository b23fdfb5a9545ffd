"""Turns a cell's kernel messages into nbformat outputs, sans I/O.

The session's drivers (blocking and async) read messages from the kernel's IOPub channel and
feed them here; this object decides what each message means for the notebook. Keeping it free of
I/O means both drivers share it and it can be tested with plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lllm_domain.sandbox import TRUNCATION_MARKER

DEFAULT_MAX_OUTPUT_CHARS = 1_000_000
"""Text kept per cell in the notebook (streams plus ``text/plain`` results) before cutting."""


class OutputCollector:
    """Collects the outputs of one execution request.

    ``feed`` returns True once the kernel reports it is idle for this request, i.e. every output
    has arrived. Text beyond ``max_chars`` (over the whole cell) is dropped and a marker saying
    how much was left out is appended when the cell finishes.
    """

    def __init__(self, msg_id: str, max_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS) -> None:
        self.msg_id = msg_id
        self.max_chars = max_chars
        self.outputs: list[dict[str, Any]] = []
        self.execution_count: int | None = None
        self.raised = False
        self.done = False
        self._kept = 0
        self._dropped = 0

    @property
    def truncated(self) -> bool:
        """Whether any text was dropped."""
        return self._dropped > 0

    def feed(self, msg: Mapping[str, Any]) -> bool:
        """Take one IOPub message (others' messages are ignored); return True when done."""
        if msg.get("parent_header", {}).get("msg_id") != self.msg_id:
            return self.done
        kind = msg["header"]["msg_type"]
        content = msg["content"]
        if kind == "status":
            if content.get("execution_state") == "idle":
                self.finish()
        elif kind == "execute_input":
            self.execution_count = content.get("execution_count")
        elif kind == "stream":
            self._stream(content["name"], content["text"])
        elif kind == "execute_result":
            self.execution_count = content.get("execution_count", self.execution_count)
            self.outputs.append(
                {
                    "output_type": "execute_result",
                    "execution_count": content.get("execution_count"),
                    "data": self._capped_bundle(content.get("data", {})),
                    "metadata": content.get("metadata", {}),
                }
            )
        elif kind == "display_data":
            self.outputs.append(
                {
                    "output_type": "display_data",
                    "data": self._capped_bundle(content.get("data", {})),
                    "metadata": content.get("metadata", {}),
                }
            )
        elif kind == "error":
            self.raised = True
            self.outputs.append(
                {
                    "output_type": "error",
                    "ename": content.get("ename", ""),
                    "evalue": content.get("evalue", ""),
                    "traceback": list(content.get("traceback", [])),
                }
            )
        elif kind == "clear_output":
            self.outputs.clear()
        return self.done

    def finish(self) -> None:
        """Mark the cell finished and add the truncation marker if text was dropped."""
        if self.done:
            return
        self.done = True
        if self._dropped:
            self.outputs.append(
                {
                    "output_type": "stream",
                    "name": "stderr",
                    "text": TRUNCATION_MARKER.format(omitted=self._dropped),
                }
            )

    def _take(self, text: str) -> str:
        if self.max_chars is None:
            return text
        room = max(0, self.max_chars - self._kept)
        kept = text[:room]
        self._kept += len(kept)
        self._dropped += len(text) - len(kept)
        return kept

    def _stream(self, name: str, text: str) -> None:
        kept = self._take(text)
        if not kept:
            return
        last = self.outputs[-1] if self.outputs else None
        # Consecutive writes to one stream become one output, as Jupyter shows them.
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += kept
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": kept})

    def _capped_bundle(self, data: Mapping[str, Any]) -> dict[str, Any]:
        bundle = dict(data)
        plain = bundle.get("text/plain")
        if isinstance(plain, str):
            bundle["text/plain"] = self._take(plain)
        return bundle
