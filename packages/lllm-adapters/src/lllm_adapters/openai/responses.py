"""The Responses API wire format: request bodies, whole replies and SSE stream events."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from lllm_domain.computer import ComputerCall, SafetyCheck
from lllm_domain.errors import ConfigError
from lllm_domain.message import Message, Role, TokenLogprob, TopLogprob
from lllm_domain.model_card import ModelCard
from lllm_domain.request import LLMRequest
from lllm_domain.usage import Usage

from lllm_adapters.api_errors import APIStatusError, InvalidResponseError
from lllm_adapters.openai.reply import Reply, token_count
from lllm_adapters.openai.request_args import (
    checked_args,
    image_url,
    output_schema,
    require_feature,
)
from lllm_adapters.openai.stream import StreamAssembler

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()

HOSTED_CALL_TYPES = frozenset(
    {
        "web_search_call",
        "mcp_call",
        "mcp_list_tools",
        "mcp_approval_request",
        "file_search_call",
        "code_interpreter_call",
        "image_generation_call",
    }
)
"""Output items the provider ran (or asks about) itself; kept on the message's ``extra``.
(``computer_call`` items are not among them: they become the message's ``computer_calls``,
which the agent call runs on its computer.)"""

LOGPROBS_INCLUDE = "message.output_text.logprobs"

# -- request ---------------------------------------------------------------------------------


def input_items(message: Message) -> list[dict[str, Any]]:
    """One domain message as Responses API input items.

    A tool-call turn becomes its ``function_call`` items (after any text) and a tool result a
    ``function_call_output`` item (whose ``output`` lists ``input_text`` and ``input_image``
    items when the tool returned images), so a reloaded dialog can be sent again as it was.
    Computer calls and their screenshots become ``computer_call`` / ``computer_call_output``
    items.
    """
    role = message.role
    if role is Role.TOOL_CALL:
        items: list[dict[str, Any]] = []
        if message.content:
            items.append({"role": "assistant", "content": message.content})
        if message.computer_calls:
            # A computer call is refused without the reasoning item that preceded it.
            items.extend(dict(r) for r in message.extra.get("reasoning_items") or ())
            items.extend(_computer_call_item(call) for call in message.computer_calls)
        for call in message.function_calls:
            items.append(
                {
                    "type": "function_call",
                    "call_id": call.id,
                    "name": call.name,
                    "arguments": call.raw_arguments
                    if call.raw_arguments is not None
                    else _encoder.encode(dict(call.arguments)).decode(),
                }
            )
        return items
    if role is Role.TOOL:
        if message.tool_call_id is None:
            return [{"role": "user", "content": message.content}]
        if message.extra.get("computer_call_output") and message.image is not None:
            return [_computer_output_item(message)]
        output: str | list[dict[str, Any]] = message.content
        if message.all_images:
            # A tool's images go in its output, as a list of content items after its text.
            output = _content_parts(message)
        return [{"type": "function_call_output", "call_id": message.tool_call_id, "output": output}]
    if message.all_images and role is Role.USER:
        return [{"role": "user", "content": _content_parts(message)}]
    return [{"role": role.value, "content": message.content}]


def _content_parts(message: Message) -> list[dict[str, Any]]:
    """The message's text (if any) then its images, as ``input_text`` / ``input_image`` items."""
    parts: list[dict[str, Any]] = []
    if message.content:
        parts.append({"type": "input_text", "text": message.content})
    for image in message.all_images:
        parts.append(
            {
                "type": "input_image",
                "image_url": image_url(image),
                "detail": image.detail or "auto",
            }
        )
    return parts


def _computer_call_item(call: ComputerCall) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "computer_call",
        "call_id": call.call_id,
        "action": dict(call.action),
        "pending_safety_checks": [
            {"id": c.id, "code": c.code, "message": c.message} for c in call.pending_safety_checks
        ],
        "status": "completed",
    }
    if call.item_id:
        item["id"] = call.item_id
    return item


def _computer_output_item(message: Message) -> dict[str, Any]:
    assert message.image is not None
    item: dict[str, Any] = {
        "type": "computer_call_output",
        "call_id": message.tool_call_id,
        "output": {"type": "computer_screenshot", "image_url": image_url(message.image)},
    }
    acknowledged = message.extra.get("acknowledged_safety_checks")
    if acknowledged:
        item["acknowledged_safety_checks"] = list(acknowledged)
    return item


def computer_call_from_item(item: Mapping[str, Any]) -> ComputerCall:
    """The domain :class:`~lllm_domain.computer.ComputerCall` of a ``computer_call`` output item
    (its action is checked when it runs, so a malformed one reaches the computer's error path)."""
    action = item.get("action")
    return ComputerCall(
        item.get("call_id") or item.get("id") or "",
        action if isinstance(action, Mapping) else {"type": None},
        item.get("id") or "",
        tuple(
            SafetyCheck(
                str(c.get("id") or ""), str(c.get("code") or ""), str(c.get("message") or "")
            )
            for c in item.get("pending_safety_checks") or ()
            if isinstance(c, Mapping)
        ),
    )


def responses_body(request: LLMRequest, card: ModelCard, *, stream: bool) -> dict[str, Any]:
    """The JSON body of a Responses API request (hosted tools only where the card allows)."""
    items: list[dict[str, Any]] = []
    for message in request.messages:
        items.extend(input_items(message))
    body: dict[str, Any] = {"model": card.model_id, "input": items}
    args = checked_args(card, request.model_args)
    if args:
        for legacy in ("max_completion_tokens", "max_tokens"):
            if legacy in args:
                body["max_output_tokens"] = args.pop(legacy)
        if "reasoning_effort" in args:
            args["reasoning"] = {"effort": args.pop("reasoning_effort")}
        if "logit_bias" in args:
            raise ConfigError(
                "logit_bias is not available in the Responses API; use api_type 'completion' "
                "(classification needs it)"
            )
        if args.pop("logprobs", False):
            include = list(args.pop("include", ()))
            if LOGPROBS_INCLUDE not in include:
                include.append(LOGPROBS_INCLUDE)
            args["include"] = include
        if "verbosity" in args:
            args["text"] = {**args.get("text", {}), "verbosity": args.pop("verbosity")}
        body.update(args)
    tools: list[dict[str, Any]] = [
        {
            "type": "function",
            "name": f.name,
            "description": f.description,
            "parameters": f.json_schema(),
            "strict": f.strict,
        }
        for f in request.tools
    ]
    if request.allow_web_search:
        require_feature(card, "web_search", "web search")
        tools.append({"type": "web_search"})
    if request.computer_use is not None:
        require_feature(card, "computer_use", "computer use")
        tools.append({"type": "computer_use_preview", **dict(request.computer_use)})
        body.setdefault("truncation", "auto")  # the API requires it for computer use
    if request.mcp_servers:
        require_feature(card, "mcp", "hosted MCP tools")
        tools.extend(server.to_tool() for server in request.mcp_servers)
    if tools:
        body["tools"] = tools
    if request.output_format is not None:
        name, schema, strict = output_schema(request.output_format)
        text = dict(body.get("text") or {})
        text["format"] = {"type": "json_schema", "name": name, "schema": schema, "strict": strict}
        body["text"] = text
    if stream:
        body["stream"] = True
    return body


# -- whole replies ---------------------------------------------------------------------------


def _usage(raw: Any, where: str) -> Usage | None:
    if not isinstance(raw, Mapping):
        return None
    input_details = raw.get("input_tokens_details")
    output_details = raw.get("output_tokens_details")
    cached = input_details.get("cached_tokens") if isinstance(input_details, Mapping) else None
    reasoning = (
        output_details.get("reasoning_tokens") if isinstance(output_details, Mapping) else None
    )
    return Usage(
        token_count(raw.get("input_tokens"), "usage.input_tokens", where),
        token_count(raw.get("output_tokens"), "usage.output_tokens", where),
        token_count(cached, "usage.input_tokens_details.cached_tokens", where),
        token_count(reasoning, "usage.output_tokens_details.reasoning_tokens", where),
    )


def _logprobs(raw: Any) -> list[TokenLogprob]:
    return [
        TokenLogprob(
            t["token"],
            float(t["logprob"]),
            tuple(TopLogprob(c["token"], float(c["logprob"])) for c in t.get("top_logprobs") or ()),
        )
        for t in raw or ()
    ]


def reply_from_response(response: Mapping[str, Any], where: str) -> Reply:
    """The reply held by a Responses API ``response`` object (whole or from a stream's end)."""
    status = response.get("status")
    if status == "failed":
        error = response.get("error") or {}
        raise APIStatusError(
            f"{where}: the response failed: {error.get('message') or error}",
            retryable=error.get("code") in ("server_error", "rate_limit_exceeded"),
            code=error.get("code"),
        )
    texts: list[str] = []
    refusals: list[str] = []
    calls: list[tuple[str, str, str]] = []
    logprobs: list[TokenLogprob] = []
    hosted: list[Mapping[str, Any]] = []
    computer: list[ComputerCall] = []
    reasoning: list[Mapping[str, Any]] = []
    for item in response.get("output") or ():
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or ():
                ptype = part.get("type")
                if ptype == "output_text":
                    texts.append(part.get("text") or "")
                    logprobs.extend(_logprobs(part.get("logprobs")))
                elif ptype == "refusal":
                    refusals.append(part.get("refusal") or "")
        elif kind == "function_call":
            calls.append(
                (
                    item.get("call_id") or item.get("id") or "",
                    item.get("name") or "",
                    item.get("arguments") or "",
                )
            )
        elif kind == "computer_call":
            computer.append(computer_call_from_item(item))
        elif kind == "reasoning":
            reasoning.append(item)
        elif kind in HOSTED_CALL_TYPES:
            hosted.append(item)
    incomplete = (response.get("incomplete_details") or {}).get("reason")
    return Reply(
        text="".join(texts),
        tool_calls=calls,
        usage=_usage(response.get("usage"), where),
        model=response.get("model") or "",
        response_id=response.get("id") or "",
        finish_reason=incomplete or status,
        refusal="".join(refusals) or ("content filter" if incomplete == "content_filter" else None),
        truncated=status == "incomplete" and incomplete == "max_output_tokens",
        logprobs=tuple(logprobs),
        hosted_calls=tuple(hosted),
        computer_calls=tuple(computer),
        reasoning_items=tuple(reasoning) if computer else (),
    )


def decode_response(raw: bytes, where: str) -> Reply:
    """A whole Responses API reply; a body that is not one is a retryable error."""
    try:
        data = _decoder.decode(raw)
        if not isinstance(data, dict) or "output" not in data:
            raise ValueError("no 'output' field")
        return reply_from_response(data, where)
    except (msgspec.DecodeError, ValueError, TypeError, AttributeError, KeyError) as exc:
        raise InvalidResponseError(
            f"{where} sent a reply that is not a valid response object ({exc}); "
            "this is usually transient",
            retryable=True,
            code="invalid_response",
        ) from None


# -- streamed replies ------------------------------------------------------------------------


class ResponsesStreamAssembler(StreamAssembler):
    """Follows Responses API SSE events, passing text deltas on; the final reply is decoded from
    the ``response.completed`` event so it equals the non-streamed one.

    ``done`` turns true only with a final event (``response.completed``, ``.incomplete`` or
    ``.failed``) that carries its ``response`` object; ``missing`` says what an unfinished
    stream lacks.
    """

    def __init__(self, on_delta: Callable[[str], None] | None, where: str) -> None:
        super().__init__(on_delta, where)
        self._final: Mapping[str, Any] | None = None
        self._empty_final: str | None = None

    @property
    def done(self) -> bool:
        """Whether a final event with its response object came."""
        return self._final is not None

    @property
    def ended(self) -> bool:
        """Whether a final event came, complete or not."""
        return self._final is not None or self._empty_final is not None

    @property
    def missing(self) -> str:
        """What keeps the stream from being a whole reply ('' once it is one)."""
        if self._final is not None:
            return ""
        if self._empty_final is not None:
            return f"its {self._empty_final!r} event carried no response object with an 'output'"
        return "it ended without a 'response.completed' event"

    def feed(self, data: str) -> None:
        """Take the ``data:`` payload of one SSE event."""
        if data == "[DONE]":
            return
        try:
            event = _decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise self._not_json("event", exc) from None
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "response.output_text.delta":
            delta = event.get("delta") or ""
            if delta:
                self._add_text(delta)
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            final = event.get("response")
            if isinstance(final, Mapping) and (kind == "response.failed" or "output" in final):
                self._final = final
            else:
                self._empty_final = kind
        elif kind == "error":
            raise self._failed(event.get("message"), event.get("code"))

    def reply(self) -> Reply:
        """The final reply (call once the stream is done)."""
        return reply_from_response(self._final or {}, self._where)
