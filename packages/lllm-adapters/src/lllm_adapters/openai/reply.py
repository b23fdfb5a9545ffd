"""A decoded model reply, the same for both APIs and for streamed and whole replies, and how it
becomes a domain :class:`~lllm_domain.message.Message`."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import msgspec
from lllm_domain.computer import ComputerCall
from lllm_domain.message import (
    ARGUMENTS_TOO_DEEP,
    EMPTY_MAPPING,
    FunctionCall,
    Message,
    Modality,
    Role,
    TokenLogprob,
)
from lllm_domain.model_card import ModelCard
from lllm_domain.request import LLMRequest
from lllm_domain.usage import Usage

from lllm_adapters.openai.errors import InvalidResponseError, OutputTruncatedError, RefusalError

_args_decoder = msgspec.json.Decoder()

MAX_PLAUSIBLE_TOKENS = 100_000_000
"""More tokens than any model reads or writes in one request: a usage figure above it (or below
zero) is a broken report, not a bill, and is refused as an invalid response."""


def token_count(value: object, field: str, where: str) -> int:
    """``value`` as the token count reported in usage ``field`` (``None`` means 0).

    Raises a non-retryable :class:`InvalidResponseError` naming the field and ``where`` when it
    is not a whole number from 0 to :data:`MAX_PLAUSIBLE_TOKENS`: budgets and costs are computed
    from these figures, and asking again would pay for another request from the same server.
    """
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= MAX_PLAUSIBLE_TOKENS:
            return value
        shown = str(value) if abs(value) < 10**15 else f"a {len(str(abs(value)))}-digit number"
    else:
        shown = f"{type(value).__name__} {str(value)[:40]!r}"
    raise InvalidResponseError(
        f"{where} reported {field} = {shown}, which is not a token count (expected a whole "
        f"number from 0 to {MAX_PLAUSIBLE_TOKENS:,}); the server's usage accounting is broken, "
        "so costs and budgets cannot be trusted — report it to the server's operator",
        retryable=False,
        code="invalid_usage",
    )


class Reply:
    """What one response said, before it becomes a :class:`Message`.

    ``tool_calls`` holds ``(id, name, raw_arguments)`` triples; ``truncated`` is set when the
    output token limit cut the reply short, ``refusal`` when the model refused.
    ``computer_calls`` are the computer actions asked for (Responses API computer use), and
    ``reasoning_items`` the reasoning items that came with them (the API wants them back before
    the calls they led to).
    """

    __slots__ = (
        "computer_calls",
        "finish_reason",
        "hosted_calls",
        "logprobs",
        "model",
        "reasoning_items",
        "refusal",
        "response_id",
        "text",
        "tool_calls",
        "truncated",
        "usage",
    )

    def __init__(
        self,
        *,
        text: str,
        tool_calls: list[tuple[str, str, str]],
        usage: Usage | None,
        model: str,
        response_id: str = "",
        finish_reason: str | None = None,
        refusal: str | None = None,
        truncated: bool = False,
        logprobs: tuple[TokenLogprob, ...] = (),
        hosted_calls: tuple[Mapping[str, Any], ...] = (),
        computer_calls: tuple[ComputerCall, ...] = (),
        reasoning_items: tuple[Mapping[str, Any], ...] = (),
    ) -> None:
        self.computer_calls = computer_calls
        self.reasoning_items = reasoning_items
        self.text = text
        self.tool_calls = tool_calls
        self.usage = usage
        self.model = model
        self.response_id = response_id
        self.finish_reason = finish_reason
        self.refusal = refusal
        self.truncated = truncated
        self.logprobs = logprobs
        self.hosted_calls = hosted_calls


def decode_arguments(call_id: str, name: str, raw: str) -> FunctionCall:
    """A :class:`FunctionCall` from the model's raw argument text.

    Arguments that are not a JSON object, or that nest deeper than
    :data:`~lllm_domain.message.MAX_ARGUMENT_DEPTH`, do not raise: the call carries
    ``arguments_error`` and the exact ``raw_arguments`` so the state machine can tell the model
    what to fix.
    """
    if not raw.strip():
        return FunctionCall(call_id, name, EMPTY_MAPPING, raw_arguments=raw)
    try:
        args = _args_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        return FunctionCall(call_id, name, raw_arguments=raw, arguments_error=str(exc))
    except RecursionError:  # nested past the interpreter's limit: deeper than any we accept
        return FunctionCall(call_id, name, raw_arguments=raw, arguments_error=ARGUMENTS_TOO_DEEP)
    if not isinstance(args, dict):
        return FunctionCall(
            call_id,
            name,
            raw_arguments=raw,
            arguments_error=f"expected a JSON object, got {type(args).__name__}",
        )
    return FunctionCall(call_id, name, args, raw_arguments=raw)


def to_message(reply: Reply, request: LLMRequest, card: ModelCard, where: str) -> Message:
    """The domain message for ``reply``; refusals and truncation raise typed errors."""
    usage = reply.usage
    calls = tuple(decode_arguments(*tc) for tc in reply.tool_calls)
    extra: Mapping[str, Any] = EMPTY_MAPPING
    if reply.response_id or reply.hosted_calls or reply.reasoning_items:
        data: dict[str, Any] = {}
        if reply.response_id:
            data["response_id"] = reply.response_id
        if reply.hosted_calls:
            data["hosted_calls"] = reply.hosted_calls
        if reply.reasoning_items:
            data["reasoning_items"] = reply.reasoning_items
        extra = MappingProxyType(data)
    acts = bool(calls or reply.computer_calls)
    message = Message(
        Role.TOOL_CALL if acts else Role.ASSISTANT,
        reply.text,
        request.agent_name or "assistant",
        Modality.FUNCTION_CALL if calls else Modality.TEXT,
        calls,
        logprobs=reply.logprobs,
        model=reply.model or card.model_id,
        usage=usage,
        cost=card.cost(usage) if usage is not None else None,
        model_args=request.model_args,
        extra=extra,
        prompt_path=request.prompt_path,
        computer_calls=reply.computer_calls,
    )
    if reply.refusal is not None:
        raise RefusalError(
            f"{where}: the model refused to answer: {reply.refusal}",
            refusal=reply.refusal,
            code="refusal",
        )
    if reply.truncated:
        raise OutputTruncatedError(
            f"{where}: the reply hit the output token limit and is incomplete "
            f"({len(reply.text)} characters received); raise max_completion_tokens or ask for "
            "a shorter answer",
            partial=message,
        )
    return message
