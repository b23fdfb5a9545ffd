"""What the two OpenAI stream assemblers share: the text received so far, handing each text
delta to the caller's ``on_delta``, and the typed errors for a bad or failed stream event.

An assembler turns the ``data:`` payloads of one SSE stream into one :class:`Reply`. Once any
text reached ``on_delta`` (``delivered``), a failure is no longer retried: replaying it would
show the user the same text twice."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from lllm_adapters.api_errors import InvalidResponseError
from lllm_adapters.openai.reply import Reply


class StreamAssembler(ABC):
    """Builds one reply from the SSE events of ``where`` (the endpoint, for error messages),
    passing text deltas on to ``on_delta`` as they come."""

    def __init__(self, on_delta: Callable[[str], None] | None, where: str) -> None:
        self._on_delta = on_delta
        self._where = where
        self._text: list[str] = []
        self.delivered = False
        """Whether any text reached ``on_delta``."""

    @property
    def partial_text(self) -> str:
        """The text received so far."""
        return "".join(self._text)

    @property
    @abstractmethod
    def done(self) -> bool:
        """Whether the stream is a whole reply."""

    @property
    @abstractmethod
    def ended(self) -> bool:
        """Whether the server said the stream is over, complete or not."""

    @property
    @abstractmethod
    def missing(self) -> str:
        """What keeps the stream from being a whole reply ('' once it is one)."""

    @abstractmethod
    def feed(self, data: str) -> None:
        """Take the ``data:`` payload of one SSE event."""

    @abstractmethod
    def reply(self) -> Reply:
        """The assembled reply (call once the stream is done)."""

    def _add_text(self, text: str) -> None:
        """Keep a text delta and hand it to ``on_delta``."""
        self._text.append(text)
        if self._on_delta is not None:
            self.delivered = True
            self._on_delta(text)

    def _not_json(self, what: str, exc: Exception) -> InvalidResponseError:
        """The error for an event payload that does not decode (``what``: chunk, event)."""
        return InvalidResponseError(
            f"{self._where} sent a stream {what} that is not valid JSON ({exc})",
            retryable=not self.delivered,
            code="invalid_response",
        )

    def _failed(self, message: object, code: str | None) -> InvalidResponseError:
        """The error for an error event in the middle of the stream."""
        return InvalidResponseError(
            f"{self._where} reported an error mid-stream: {message}",
            retryable=not self.delivered,
            code=code,
        )
