"""A decoded Messages API reply (whole or streamed) and how it becomes a domain
:class:`~lllm_domain.message.Message`: text, tool calls, thinking blocks, usage with cache
writes and reads, and the stop reason mapped onto the typed errors."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import msgspec
from lllm_domain.message import EMPTY_MAPPING, Message, Modality, Role
from lllm_domain.model_card import ModelCard
from lllm_domain.request import LLMRequest
from lllm_domain.usage import Usage

from lllm_adapters.anthropic.errors import (
    InvalidResponseError,
    OutputTruncatedError,
    RefusalError,
)
from lllm_adapters.anthropic.request import THINKING_KEY
from lllm_adapters.openai.reply import decode_arguments, token_count

# -- wire structs (shared with the stream) ---------------------------------------------------


class CacheCreation(msgspec.Struct):
    """Cache writes split by lifetime."""

    ephemeral_5m_input_tokens: int | None = None
    ephemeral_1h_input_tokens: int | None = None


class WireUsage(msgspec.Struct):
    """The ``usage`` object. ``input_tokens`` excludes cache writes and reads."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation: CacheCreation | None = None

    def merged(self, later: WireUsage) -> WireUsage:
        """This usage with the fields ``later`` reports (a stream's ``message_delta``)."""
        return WireUsage(
            _pick(later.input_tokens, self.input_tokens),
            _pick(later.output_tokens, self.output_tokens),
            _pick(later.cache_creation_input_tokens, self.cache_creation_input_tokens),
            _pick(later.cache_read_input_tokens, self.cache_read_input_tokens),
            later.cache_creation if later.cache_creation is not None else self.cache_creation,
        )


def _pick(value: int | None, default: int | None) -> int | None:
    return default if value is None else value


class Block(msgspec.Struct):
    """One content block: ``text``, ``tool_use``, ``thinking`` or ``redacted_thinking``."""

    type: str = ""
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: msgspec.Raw = msgspec.Raw()
    """A ``tool_use`` block's input, as raw JSON (empty when absent)."""
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None


class _WireMessage(msgspec.Struct):
    id: str = ""
    type: str = ""
    model: str = ""
    content: list[Block] = []
    stop_reason: str | None = None
    usage: WireUsage | None = None


_message_decoder = msgspec.json.Decoder(_WireMessage)


def usage_from(raw: WireUsage | None, where: str) -> Usage | None:
    """The domain usage: ``input_tokens`` counts every input token (uncached, written to the
    cache and read from it, as OpenAI reports them), with the cache reads and writes as parts."""
    if raw is None:
        return None
    fresh = token_count(raw.input_tokens, "usage.input_tokens", where)
    writes = token_count(
        raw.cache_creation_input_tokens, "usage.cache_creation_input_tokens", where
    )
    reads = token_count(raw.cache_read_input_tokens, "usage.cache_read_input_tokens", where)
    hour = 0
    if raw.cache_creation is not None:
        hour = token_count(
            raw.cache_creation.ephemeral_1h_input_tokens,
            "usage.cache_creation.ephemeral_1h_input_tokens",
            where,
        )
    return Usage(
        input_tokens=fresh + writes + reads,
        output_tokens=token_count(raw.output_tokens, "usage.output_tokens", where),
        cached_input_tokens=reads,
        cache_write_tokens=writes,
        cache_write_1h_tokens=min(hour, writes),
    )


# -- the reply -------------------------------------------------------------------------------


class Reply:
    """What one Messages reply said. ``tool_calls`` holds ``(id, name, raw_input)`` triples;
    ``thinking`` the thinking / redacted-thinking blocks as plain data."""

    __slots__ = ("model", "response_id", "stop_reason", "text", "thinking", "tool_calls", "usage")

    def __init__(
        self,
        *,
        text: str,
        tool_calls: list[tuple[str, str, str]],
        thinking: tuple[Mapping[str, Any], ...],
        usage: Usage | None,
        model: str,
        response_id: str,
        stop_reason: str | None,
    ) -> None:
        self.text = text
        self.tool_calls = tool_calls
        self.thinking = thinking
        self.usage = usage
        self.model = model
        self.response_id = response_id
        self.stop_reason = stop_reason


def thinking_block(block: Block) -> dict[str, Any]:
    """A thinking block as plain data (JSON-able, for logs), exactly as it must be sent back."""
    if block.type == "redacted_thinking":
        return {"type": "redacted_thinking", "data": block.data or ""}
    return {
        "type": "thinking",
        "thinking": block.thinking or "",
        "signature": block.signature or "",
    }


def decode_message(raw: bytes, where: str) -> Reply:
    """A whole Messages reply; a body that is not one is a retryable error."""
    try:
        message = _message_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidResponseError(
            f"{where} sent a reply that is not a valid Messages API message ({exc}); this is "
            "usually transient",
            retryable=True,
            code="invalid_response",
        ) from None
    if message.type != "message":
        raise InvalidResponseError(
            f"{where} answered 200 with an object of type {message.type!r}, not a message; "
            "check ANTHROPIC_BASE_URL points at the Messages API",
            retryable=False,
            code="invalid_response",
        )
    texts: list[str] = []
    calls: list[tuple[str, str, str]] = []
    thinking: list[Mapping[str, Any]] = []
    for block in message.content:
        if block.type == "text":
            texts.append(block.text or "")
        elif block.type == "tool_use":
            raw_input = bytes(block.input).decode() or "{}"
            calls.append((block.id or "", block.name or "", raw_input))
        elif block.type in ("thinking", "redacted_thinking"):
            thinking.append(thinking_block(block))
    return Reply(
        text="".join(texts),
        tool_calls=calls,
        thinking=tuple(thinking),
        usage=usage_from(message.usage, where),
        model=message.model,
        response_id=message.id,
        stop_reason=message.stop_reason,
    )


def to_message(
    reply: Reply, request: LLMRequest, card: ModelCard, where: str, output_tool: str | None
) -> Message:
    """The domain message for ``reply``.

    A call of the structured-output tool (``output_tool``) becomes the message's JSON text, to
    be validated by the prompt's parser like an OpenAI ``json_schema`` reply. ``max_tokens``
    raises :class:`OutputTruncatedError` carrying the partial message, ``refusal``
    :class:`RefusalError`.
    """
    text = reply.text
    triples = reply.tool_calls
    if output_tool is not None:
        answer = [t for t in triples if t[1] == output_tool]
        if answer:
            triples = [t for t in triples if t[1] != output_tool]
            if not triples:
                text = answer[-1][2]
    calls = tuple(decode_arguments(*t) for t in triples)
    data: dict[str, Any] = {}
    if reply.response_id:
        data["response_id"] = reply.response_id
    if reply.stop_reason:
        data["stop_reason"] = reply.stop_reason
    if reply.thinking:
        data[THINKING_KEY] = reply.thinking
    usage = reply.usage
    message = Message(
        Role.TOOL_CALL if calls else Role.ASSISTANT,
        text,
        request.agent_name or "assistant",
        Modality.FUNCTION_CALL if calls else Modality.TEXT,
        calls,
        model=reply.model or card.model_id,
        usage=usage,
        cost=card.cost(usage) if usage is not None else None,
        model_args=request.model_args,
        extra=MappingProxyType(data) if data else EMPTY_MAPPING,
        prompt_path=request.prompt_path,
    )
    stop = reply.stop_reason
    if stop == "refusal":
        raise RefusalError(
            f"{where}: the model declined to answer (stop_reason 'refusal')",
            refusal=text or "stop_reason: refusal",
            code="refusal",
        )
    if stop == "max_tokens":
        raise OutputTruncatedError(
            f"{where}: the reply hit max_tokens and is incomplete ({len(reply.text)} "
            "characters received); raise the agent's max_tokens (model args) or ask for a "
            "shorter answer",
            partial=message,
        )
    if stop == "model_context_window_exceeded":
        raise OutputTruncatedError(
            f"{where}: the reply stopped at the model's context window and is incomplete; "
            "shorten the conversation",
            partial=message,
        )
    return message
