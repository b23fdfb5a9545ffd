"""Assembling one reply from the Messages API's SSE events (``message_start``,
``content_block_start`` / ``_delta`` / ``_stop``, ``message_delta``, ``message_stop``, ``ping``,
``error``), passing text deltas on as they come."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from lllm_adapters.anthropic.errors import InvalidResponseError, error_text
from lllm_adapters.anthropic.reply import Block, Reply, WireUsage, thinking_block, usage_from


class _Delta(msgspec.Struct):
    type: str = ""
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None
    stop_reason: str | None = None


class _StartMessage(msgspec.Struct):
    id: str = ""
    model: str = ""
    usage: WireUsage | None = None


class _Event(msgspec.Struct):
    type: str = ""
    index: int = 0
    message: _StartMessage | None = None
    content_block: Block | None = None
    delta: _Delta | None = None
    usage: WireUsage | None = None
    error: msgspec.Raw = msgspec.Raw()


_event_decoder = msgspec.json.Decoder(_Event)


class _Slot:
    """One content block being assembled."""

    __slots__ = ("block", "parts", "signature")

    def __init__(self, block: Block) -> None:
        self.block = block
        self.parts: list[str] = []
        self.signature: list[str] = []


class MessagesStreamAssembler:
    """Builds one reply from Messages SSE events (the ``data:`` payloads).

    ``delivered`` turns true once any text reached ``on_delta``; ``done`` once ``message_stop``
    came after a ``stop_reason``; ``ended`` once ``message_stop`` came at all. ``missing``
    says what an unfinished stream lacks. Tool arguments arrive as ``input_json_delta``
    fragments, joined per block.
    """

    def __init__(self, on_delta: Callable[[str], None] | None, where: str) -> None:
        self._on_delta = on_delta
        self._where = where
        self._slots: dict[int, _Slot] = {}
        self._text: list[str] = []
        self._usage: WireUsage | None = None
        self._id = ""
        self._model = ""
        self._stop: str | None = None
        self._started = False
        self._stopped = False
        self.delivered = False

    @property
    def partial_text(self) -> str:
        """The text received so far."""
        return "".join(self._text)

    @property
    def done(self) -> bool:
        """Whether the stream ended with ``message_stop`` after a ``stop_reason``."""
        return self._stopped and self._stop is not None

    @property
    def ended(self) -> bool:
        """Whether the server said the message is over (``message_stop``)."""
        return self._stopped

    @property
    def missing(self) -> str:
        """What keeps the stream from being a whole reply ('' once it is one)."""
        if not self._started:
            return "it never sent message_start"
        if not self._stopped:
            return "it stopped without sending message_stop"
        if self._stop is None:
            return "it sent message_stop but never a stop_reason"
        return ""

    def feed(self, data: str) -> None:
        """Take the ``data:`` payload of one SSE event."""
        try:
            event = _event_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise InvalidResponseError(
                f"{self._where} sent a stream event that is not valid JSON ({exc})",
                retryable=not self.delivered,
                code="invalid_response",
            ) from None
        kind = event.type
        if kind == "content_block_delta":
            self._delta(event)
        elif kind == "content_block_start" and event.content_block is not None:
            self._slots[event.index] = _Slot(event.content_block)
        elif kind == "message_start" and event.message is not None:
            self._started = True
            self._id = event.message.id
            self._model = event.message.model
            self._usage = event.message.usage
        elif kind == "message_delta":
            if event.delta is not None and event.delta.stop_reason:
                self._stop = event.delta.stop_reason
            if event.usage is not None:
                self._usage = (
                    event.usage if self._usage is None else self._usage.merged(event.usage)
                )
        elif kind == "message_stop":
            self._stopped = True
        elif kind == "error":
            text, code = error_text(b'{"error": %s}' % (bytes(event.error) or b"null"))
            # overloaded / api errors mid-stream are transient while nothing was shown.
            raise InvalidResponseError(
                f"{self._where} reported an error mid-stream: {text}",
                retryable=not self.delivered,
                code=code,
            )

    def _delta(self, event: _Event) -> None:
        delta = event.delta
        slot = self._slots.get(event.index)
        if delta is None or slot is None:
            return
        if delta.type == "text_delta" and delta.text:
            slot.parts.append(delta.text)
            self._text.append(delta.text)
            if self._on_delta is not None:
                self.delivered = True
                self._on_delta(delta.text)
        elif delta.type == "input_json_delta" and delta.partial_json:
            slot.parts.append(delta.partial_json)
        elif delta.type == "thinking_delta" and delta.thinking:
            slot.parts.append(delta.thinking)
        elif delta.type == "signature_delta" and delta.signature:
            slot.signature.append(delta.signature)

    def reply(self) -> Reply:
        """The assembled reply (call once the stream is done)."""
        texts: list[str] = []
        calls: list[tuple[str, str, str]] = []
        thinking: list[Mapping[str, Any]] = []
        for _, slot in sorted(self._slots.items()):
            block = slot.block
            joined = "".join(slot.parts)
            if block.type == "text":
                texts.append((block.text or "") + joined)
            elif block.type == "tool_use":
                if not joined:
                    # No input_json_delta: the start block's input (``{}``) is the whole input.
                    joined = bytes(block.input).decode() or "{}"
                calls.append((block.id or "", block.name or "", joined))
            elif block.type == "thinking":
                whole = Block(
                    "thinking",
                    thinking=(block.thinking or "") + joined,
                    signature=(block.signature or "") + "".join(slot.signature),
                )
                thinking.append(thinking_block(whole))
            elif block.type == "redacted_thinking":
                thinking.append(thinking_block(block))
        return Reply(
            text="".join(texts),
            tool_calls=calls,
            thinking=tuple(thinking),
            usage=usage_from(self._usage, self._where),
            model=self._model,
            response_id=self._id,
            stop_reason=self._stop,
        )
