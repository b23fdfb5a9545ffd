"""How `lllm run --stream` shows streamed model text: one reply at a time, each starting on its
own line with a label (the agent, and whether it follows tool results or retries a reply that
was not accepted), so a rejected attempt, the answer and the next event never run together.

The composition root wraps the run's callers in :class:`AnnouncingCaller`, which tells the
view where each model request begins and ends; the view is the ``on_delta`` the system gets.
"""

from __future__ import annotations

import sys
from typing import TextIO

from lllm_domain.errors import ConfigError
from lllm_domain.message import Message, Role
from lllm_domain.ports import AsyncLLMCaller, LLMCaller, is_async_caller, is_sync_caller
from lllm_domain.request import LLMRequest

EXCEPTION_SUFFIX = "::exception"
"""How the path of a prompt's exception handler ends (the prompt that asks again)."""


class StreamView:
    """Prints streamed text under a label per reply; call it with each delta."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out
        self._label: str | None = None
        self._streaming = False
        self._shown = False
        self._at_line_start = True

    @property
    def out(self) -> TextIO:
        """Where the text goes (``sys.stdout`` at the time of writing, by default)."""
        return self._out if self._out is not None else sys.stdout

    def begin(self, request: LLMRequest) -> None:
        """A model request starts; label its text (if it streams any)."""
        self.end()
        if request.on_delta is None:
            return
        self._streaming = True
        who = request.agent_name or request.model
        last = request.messages[-1] if request.messages else None
        if last is not None and (last.prompt_path or "").endswith(EXCEPTION_SUFFIX):
            self._line(f"↻ not accepted ({_problems(request.messages)}): asking again")
            self._label = f"{who} (retry) › "
        elif last is not None and last.role is Role.TOOL:
            self._label = f"{who} (after tool results) › "
        else:
            self._label = f"{who} › "

    def __call__(self, text: str) -> None:
        """Show a delta: inside a reply under its label, outside one as it is (a lone line
        break from the system after a reply adds no blank line)."""
        if not text:
            return
        if self._streaming:
            if not self._shown:
                self._write_label()
            self._shown = True
        elif not text.strip() and self._at_line_start:
            return
        self._write(text)

    def end(self) -> None:
        """The model request ended (reply or error): finish its line."""
        if self._shown and not self._at_line_start:
            self._write("\n")
        self._label = None
        self._streaming = False
        self._shown = False

    def _write_label(self) -> None:
        if not self._at_line_start:
            self._write("\n")
        if self._label:
            self._write(self._label)

    def _line(self, text: str) -> None:
        if not self._at_line_start:
            self._write("\n")
        self._write(text + "\n")

    def _write(self, text: str) -> None:
        out = self.out
        out.write(text)
        out.flush()
        self._at_line_start = text.endswith("\n")


def _problems(messages: tuple[Message, ...]) -> str:
    """Why the last attempt was not accepted: its parse errors, shortened."""
    for message in reversed(messages):
        if message.role is Role.ASSISTANT:
            found = "; ".join(message.errors) or "it did not parse"
            return found if len(found) <= 160 else found[:157] + "..."
    return "it did not parse"


class AnnouncingCaller:
    """Wraps a caller and tells a :class:`StreamView` where each request begins and ends."""

    def __init__(self, inner: LLMCaller | AsyncLLMCaller, view: StreamView) -> None:
        self.inner = inner
        self.view = view

    def __repr__(self) -> str:
        return f"AnnouncingCaller({self.inner!r})"

    def call(self, request: LLMRequest) -> Message:
        """Call the inner caller between the view's ``begin`` and ``end``."""
        if not is_sync_caller(self.inner):
            raise ConfigError(f"{type(self.inner).__name__} has no sync call(); use acall()")
        self.view.begin(request)
        try:
            return self.inner.call(request)
        finally:
            self.view.end()

    async def acall(self, request: LLMRequest) -> Message:
        """Await the inner caller between the view's ``begin`` and ``end``."""
        if not is_async_caller(self.inner):
            raise ConfigError(f"{type(self.inner).__name__} has no async acall(); use call()")
        self.view.begin(request)
        try:
            return await self.inner.acall(request)
        finally:
            self.view.end()
