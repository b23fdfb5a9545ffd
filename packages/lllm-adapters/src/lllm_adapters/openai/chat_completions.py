"""The Chat Completions wire format: request bodies, whole replies and SSE stream chunks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
from lllm_domain.errors import ConfigError
from lllm_domain.message import Image, Message, Role, TokenLogprob, TopLogprob
from lllm_domain.model_card import ModelCard
from lllm_domain.request import LLMRequest
from lllm_domain.usage import Usage

from lllm_adapters.api_errors import InvalidResponseError
from lllm_adapters.openai.reply import Reply, token_count
from lllm_adapters.openai.request_args import checked_args, image_url, output_schema
from lllm_adapters.openai.stream import StreamAssembler

_encoder = msgspec.json.Encoder()

# -- request ---------------------------------------------------------------------------------


def chat_message(message: Message) -> dict[str, Any]:
    """One domain message as a Chat Completions message.

    Tool-call turns become assistant messages with ``tool_calls`` and tool results ``tool``
    messages, so a dialog reloaded from a log can be sent again as it was.
    """
    role = message.role
    if role is Role.TOOL_CALL:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": call.raw_arguments
                        if call.raw_arguments is not None
                        else _encoder.encode(dict(call.arguments)).decode(),
                    },
                }
                for call in message.function_calls
            ],
        }
    if role is Role.TOOL:
        if message.tool_call_id is None:
            return {"role": "user", "content": message.content}
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.all_images and role is Role.USER:
        parts: list[dict[str, Any]] = []
        if message.content:
            parts.append({"type": "text", "text": message.content})
        parts.extend(_image_part(image) for image in message.all_images)
        return {"role": "user", "content": parts}
    return {"role": role.value, "content": message.content}


def _image_part(image: Image) -> dict[str, Any]:
    url: dict[str, Any] = {"url": image_url(image)}
    if image.detail:
        url["detail"] = image.detail
    return {"type": "image_url", "image_url": url}


def chat_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The request's messages as Chat Completions messages (see :func:`chat_message`).

    A ``tool`` message may hold only text, so the images that tools returned follow the round's
    tool messages in one ``user`` message, each image after a line naming the tool call it came
    from. The assistant's ``tool_calls`` are still answered by their ``tool`` messages first, as
    the API requires.
    """
    out: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []  # the images of the current round of tool results
    names: dict[str, str] = {}
    for message in messages:
        answers_call = message.role is Role.TOOL and message.tool_call_id is not None
        if pending and not answers_call:
            out.append({"role": "user", "content": pending})
            pending = []
        if message.role is Role.TOOL_CALL:
            names = {call.id: call.name for call in message.function_calls}
        out.append(chat_message(message))
        if answers_call and message.all_images:
            pending.append({"type": "text", "text": _images_caption(message, names)})
            pending.extend(_image_part(image) for image in message.all_images)
    if pending:
        out.append({"role": "user", "content": pending})
    return out


def _images_caption(message: Message, names: Mapping[str, str]) -> str:
    call_id = message.tool_call_id or ""
    name = names.get(call_id)
    count = len(message.all_images)
    return (
        f"{'The image' if count == 1 else f'The {count} images'} returned by tool call {call_id}"
        f"{f' ({name})' if name else ''}:"
    )


def chat_body(request: LLMRequest, card: ModelCard, *, stream: bool) -> dict[str, Any]:
    """The JSON body of a Chat Completions request."""
    if request.allow_web_search or request.mcp_servers or request.computer_use:
        raise ConfigError(
            "web search, hosted MCP servers and computer use need the Responses API: set the "
            "agent's api_type to 'response'"
        )
    body: dict[str, Any] = {
        "model": card.model_id,
        "messages": chat_messages(request.messages),
    }
    args = checked_args(card, request.model_args)
    if args:
        if "max_output_tokens" in args:
            args["max_completion_tokens"] = args.pop("max_output_tokens")
        reasoning = args.pop("reasoning", None)
        if isinstance(reasoning, dict) and "effort" in reasoning:
            args["reasoning_effort"] = reasoning["effort"]
        body.update(args)
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": f.name,
                    "description": f.description,
                    "parameters": f.json_schema(),
                    "strict": f.strict,
                },
            }
            for f in request.tools
        ]
    if request.output_format is not None:
        name, schema, strict = output_schema(request.output_format)
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": strict},
        }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


# -- whole replies ---------------------------------------------------------------------------


class _Function(msgspec.Struct):
    name: str = ""
    arguments: str = ""


class _ToolCall(msgspec.Struct):
    id: str = ""
    function: _Function = msgspec.field(default_factory=_Function)


class _Top(msgspec.Struct):
    token: str
    logprob: float


class _TokenLogprob(msgspec.Struct):
    token: str
    logprob: float
    top_logprobs: list[_Top] | None = None


class _Logprobs(msgspec.Struct):
    content: list[_TokenLogprob] | None = None


class _ChatMessage(msgspec.Struct):
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(msgspec.Struct):
    message: _ChatMessage = msgspec.field(default_factory=_ChatMessage)
    finish_reason: str | None = None
    logprobs: _Logprobs | None = None


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _CompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    prompt_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _CompletionDetails | None = None


class _Completion(msgspec.Struct):
    id: str = ""
    model: str = ""
    choices: list[_Choice] = []
    usage: _Usage | None = None


_completion_decoder = msgspec.json.Decoder(_Completion)


def _usage(raw: _Usage | None, where: str) -> Usage | None:
    if raw is None:
        return None
    cached = raw.prompt_tokens_details.cached_tokens if raw.prompt_tokens_details else None
    reasoning = (
        raw.completion_tokens_details.reasoning_tokens if raw.completion_tokens_details else None
    )
    return Usage(
        token_count(raw.prompt_tokens, "usage.prompt_tokens", where),
        token_count(raw.completion_tokens, "usage.completion_tokens", where),
        token_count(cached, "usage.prompt_tokens_details.cached_tokens", where),
        token_count(reasoning, "usage.completion_tokens_details.reasoning_tokens", where),
    )


def _logprobs(raw: list[_TokenLogprob] | None) -> tuple[TokenLogprob, ...]:
    if not raw:
        return ()
    return tuple(
        TokenLogprob(
            t.token,
            t.logprob,
            tuple(TopLogprob(c.token, c.logprob) for c in t.top_logprobs or ()),
        )
        for t in raw
    )


def _refusal(refusal: str | None, finish_reason: str | None) -> str | None:
    if refusal:
        return refusal
    if finish_reason == "content_filter":
        return "the reply was stopped by the provider's content filter"
    return None


def decode_completion(raw: bytes, where: str) -> Reply:
    """A whole Chat Completions reply; a body that is not one is a retryable error."""
    try:
        completion = _completion_decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidResponseError(
            f"{where} sent a reply that is not a valid chat completion ({exc}); "
            "this is usually transient",
            retryable=True,
            code="invalid_response",
        ) from None
    if not completion.choices:
        # Not transient in practice: a server that answers 200 with no choice does so again for
        # the same request (a filter, n=0, a compatible server that cannot serve the model).
        # Retrying for half a minute helps nobody; fail at once and say what to check.
        raise InvalidResponseError(
            f"{where} answered with an empty 'choices' list: the server produced no reply for "
            "this request (a content filter, or a compatible server that cannot serve this "
            "model); check the model name and the server's logs, or set CallLimits."
            "max_llm_recall to ask again",
            retryable=False,
            code="no_choices",
        )
    choice = completion.choices[0]
    msg = choice.message
    return Reply(
        text=msg.content or "",
        tool_calls=[(tc.id, tc.function.name, tc.function.arguments) for tc in msg.tool_calls]
        if msg.tool_calls
        else [],
        usage=_usage(completion.usage, where),
        model=completion.model,
        response_id=completion.id,
        finish_reason=choice.finish_reason,
        refusal=_refusal(msg.refusal, choice.finish_reason),
        truncated=choice.finish_reason == "length",
        logprobs=_logprobs(choice.logprobs.content if choice.logprobs else None),
    )


# -- streamed replies ------------------------------------------------------------------------


class _DeltaFunction(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class _DeltaToolCall(msgspec.Struct):
    index: int = 0
    id: str | None = None
    function: _DeltaFunction | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[_DeltaToolCall] | None = None


class _ChunkChoice(msgspec.Struct):
    index: int = 0
    delta: _Delta = msgspec.field(default_factory=_Delta)
    finish_reason: str | None = None
    logprobs: _Logprobs | None = None


class _ChunkError(msgspec.Struct):
    message: str | None = None
    code: str | int | None = None


class _Chunk(msgspec.Struct):
    id: str = ""
    model: str = ""
    choices: list[_ChunkChoice] = []
    usage: _Usage | None = None
    error: _ChunkError | None = None


_chunk_decoder = msgspec.json.Decoder(_Chunk)


class ChatStreamAssembler(StreamAssembler):
    """Builds one reply from Chat Completions SSE chunks, passing text deltas on as they come.

    ``delivered`` turns true once any text reached ``on_delta``; ``done`` once the stream is a
    whole reply: ``[DONE]`` came *and* the first choice sent its ``finish_reason`` (a stream that
    says ``[DONE]`` without one, or never sent a choice, is not an answer). ``missing`` says
    what an unfinished stream lacks.
    """

    def __init__(self, on_delta: Callable[[str], None] | None, where: str) -> None:
        super().__init__(on_delta, where)
        self._refusal: list[str] = []
        self._calls: dict[int, list[Any]] = {}
        self._logprobs: list[_TokenLogprob] = []
        self._finish: str | None = None
        self._usage: _Usage | None = None
        self._id = ""
        self._model = ""
        self._saw_done = False
        self._saw_choice = False

    @property
    def done(self) -> bool:
        """Whether the stream ended with ``[DONE]`` after a ``finish_reason``."""
        return self._saw_done and self._finish is not None

    @property
    def missing(self) -> str:
        """What keeps the stream from being a whole reply ('' once it is one)."""
        if not self._saw_done:
            return "it stopped without sending [DONE]"
        if not self._saw_choice:
            return "it sent [DONE] without a single choice ('choices' was empty in every chunk)"
        if self._finish is None:
            return "it sent [DONE] but never a finish_reason"
        return ""

    @property
    def ended(self) -> bool:
        """Whether the server said the stream is over (``[DONE]``), complete or not."""
        return self._saw_done

    def feed(self, data: str) -> None:
        """Take the ``data:`` payload of one SSE event."""
        if data == "[DONE]":
            self._saw_done = True
            return
        try:
            chunk = _chunk_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise self._not_json("chunk", exc) from None
        if chunk.error is not None:
            code = chunk.error.code
            raise self._failed(chunk.error.message, None if code is None else str(code))
        if chunk.id:
            self._id = chunk.id
        if chunk.model:
            self._model = chunk.model
        if chunk.usage is not None:
            self._usage = chunk.usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            self._saw_choice = True
            delta = choice.delta
            if delta.content:
                self._add_text(delta.content)
            if delta.refusal:
                self._refusal.append(delta.refusal)
            if delta.tool_calls:
                for tc in delta.tool_calls:
                    slot = self._calls.setdefault(tc.index, ["", "", []])
                    if tc.id:
                        slot[0] = tc.id
                    if tc.function is not None:
                        if tc.function.name:
                            slot[1] += tc.function.name
                        if tc.function.arguments:
                            slot[2].append(tc.function.arguments)
            if choice.logprobs is not None and choice.logprobs.content:
                self._logprobs.extend(choice.logprobs.content)
            if choice.finish_reason:
                self._finish = choice.finish_reason

    def reply(self) -> Reply:
        """The assembled reply (call once the stream is done)."""
        refusal = "".join(self._refusal) or None
        return Reply(
            text="".join(self._text),
            tool_calls=[
                (slot[0], slot[1], "".join(slot[2])) for _, slot in sorted(self._calls.items())
            ],
            usage=_usage(self._usage, self._where),
            model=self._model,
            response_id=self._id,
            finish_reason=self._finish,
            refusal=_refusal(refusal, self._finish),
            truncated=self._finish == "length",
            logprobs=_logprobs(self._logprobs),
        )
