"""The Messages API request body: system prompt, turns, images, tools, tool results (with the
images a tool returned), thinking blocks sent back, prompt-cache breakpoints and structured
output as a forced tool."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lllm_domain.errors import ConfigError, UnsupportedFeatureError
from lllm_domain.message import Image, Message, Role
from lllm_domain.model_card import ModelCard
from lllm_domain.request import LLMRequest

from lllm_adapters.openai.request_args import output_schema

PROVIDER = "anthropic"

THINKING_KEY = "thinking"
"""Where a reply's thinking and redacted-thinking blocks are kept on ``Message.extra``: a tuple
of the blocks as the API sent them (signature included), sent back with the turn."""

ADAPTIVE_THINKING = "adaptive_thinking"
"""The card feature of models that think by default (Claude Opus 5, Sonnet 5): they refuse
forced tool use, so structured output leaves the choice of its tool to the model."""

CACHE_PLACES = ("system", "tools", "messages")
"""Where the ``cache_control`` model argument may put a prompt-cache breakpoint."""

_LOGPROB_ARGS = ("logprobs", "top_logprobs", "logit_bias")
_MAX_TOKENS_ARGS = ("max_tokens", "max_output_tokens", "max_completion_tokens")
_PASSED_ARGS = ("temperature", "top_p", "top_k", "metadata", "service_tier", "stop_sequences")


def _unsupported(feature: str, card: ModelCard, hint: str = "") -> UnsupportedFeatureError:
    return UnsupportedFeatureError(feature, model=card.name, provider=PROVIDER, hint=hint)


def check_request(request: LLMRequest, card: ModelCard) -> None:
    """Refuse, before any request is sent, what the Messages adapter does not offer."""
    args = request.model_args
    if any(name in args for name in _LOGPROB_ARGS):
        raise _unsupported(
            "logprob classification (logprobs / top_logprobs / logit_bias)",
            card,
            "the Messages API returns no token log-probabilities; classify with an OpenAI "
            "model, or ask for the class as structured output",
        )
    if request.allow_web_search:
        raise _unsupported("hosted web search (allow_web_search)", card)
    if request.mcp_servers:
        raise _unsupported("hosted MCP servers", card)
    if request.computer_use:
        raise _unsupported("computer use", card)
    if "reasoning" in args or "reasoning_effort" in args:
        raise _unsupported(
            "OpenAI's reasoning / reasoning_effort arguments",
            card,
            'use thinking={"type": "enabled", "budget_tokens": N} for extended thinking',
        )


def image_block(message: Message) -> dict[str, Any]:
    """The image of a user message as a base64 image block."""
    assert message.image is not None
    return base64_image_block(message.image)


def base64_image_block(image: Image) -> dict[str, Any]:
    """``image`` as a base64 image block (in a user turn, or inside a ``tool_result``)."""
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": image.mime_type, "data": image.base64},
    }


def _assistant_blocks(message: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [dict(b) for b in message.extra.get(THINKING_KEY, ())]
    if message.content:
        blocks.append({"type": "text", "text": message.content})
    for call in message.function_calls:
        arguments = dict(call.arguments) if call.arguments_error is None else {}
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    return blocks


def _user_blocks(message: Message) -> list[dict[str, Any]]:
    images = message.all_images
    if message.role is Role.TOOL and message.tool_call_id is not None:
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": message.tool_call_id,
            "content": message.content,
        }
        if images:
            # A tool's images travel inside its result, after its text (the API refuses an
            # empty text block, so a result without text holds only its images).
            parts = [{"type": "text", "text": message.content}] if message.content else []
            parts.extend(base64_image_block(image) for image in images)
            block["content"] = parts
        if message.extra.get("is_error"):
            block["is_error"] = True
        return [block]
    blocks = [base64_image_block(image) for image in images]
    if message.content or not blocks:
        blocks.append({"type": "text", "text": message.content})
    return blocks


def system_and_turns(
    messages: Sequence[Message],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(system blocks, turns)``: system messages become the top-level ``system``; the rest
    alternate user / assistant, consecutive messages of one side merged into one turn (the
    results of parallel tool calls travel together, tool results first, as the API requires)."""
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message.role
        if role is Role.SYSTEM:
            if message.content:
                system.append({"type": "text", "text": message.content})
            continue
        side = "assistant" if role in (Role.ASSISTANT, Role.TOOL_CALL) else "user"
        blocks = _assistant_blocks(message) if side == "assistant" else _user_blocks(message)
        if not blocks:
            continue
        if turns and turns[-1]["role"] == side:
            content: list[dict[str, Any]] = turns[-1]["content"]
            if side == "user" and blocks[0]["type"] == "tool_result":
                # tool_result blocks must open the user turn that answers the calls.
                at = sum(1 for b in content if b["type"] == "tool_result")
                content[at:at] = blocks
            else:
                content.extend(blocks)
        else:
            turns.append({"role": side, "content": blocks})
    return system, turns


def _tool_choice(value: Any, card: ModelCard) -> dict[str, Any]:
    """OpenAI-style choices (``"auto"``, ``"none"``, ``"required"``, a named function) in the
    Messages API's form; Anthropic-style mappings pass through."""
    if value in ("auto", "none"):
        return {"type": value}
    if value in ("required", "any"):
        return {"type": "any"}
    if isinstance(value, Mapping):
        kind = value.get("type")
        if kind == "function":
            name = (value.get("function") or {}).get("name") or value.get("name")
            return {"type": "tool", "name": name}
        if kind in ("auto", "any", "tool", "none"):
            return dict(value)
    raise ConfigError(
        f"model {card.name!r}: tool_choice {value!r} is not understood; use 'auto', 'none', "
        "'required', {'type': 'tool', 'name': ...} or {'type': 'function', 'function': "
        "{'name': ...}}"
    )


def _thinking(value: Any, card: ModelCard) -> dict[str, Any] | None:
    if value is None or value is False:
        return None
    if value is True:
        return {"type": "enabled", "budget_tokens": 4096}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"type": "enabled", "budget_tokens": value}
    if isinstance(value, Mapping):
        return dict(value)
    raise ConfigError(
        f"model {card.name!r}: thinking must be a token budget, True, or the API's mapping "
        f'({{"type": "enabled", "budget_tokens": N}}), not {value!r}'
    )


def _cache_places(value: Any, card: ModelCard) -> tuple[str, ...]:
    if value is None or value is False:
        return ()
    if value is True:
        return CACHE_PLACES
    places = (value,) if isinstance(value, str) else tuple(value)
    wrong = [p for p in places if p not in CACHE_PLACES]
    if wrong:
        raise ConfigError(
            f"model {card.name!r}: cache_control must be True or name some of "
            f"{', '.join(CACHE_PLACES)}; unknown: {wrong}"
        )
    return places


def output_tool(request: LLMRequest) -> tuple[str, dict[str, Any]] | None:
    """The forced tool that carries structured output (``None`` without a ``format``): its
    name and definition. The reply's call of it becomes the message's JSON text."""
    if request.output_format is None:
        return None
    name, schema, _strict = output_schema(request.output_format)
    if schema.get("type") != "object":
        schema = {"type": "object", "properties": {"value": schema}, "required": ["value"]}
    return name, {
        "name": name,
        "description": "Give your final answer as this tool's input, matching its schema.",
        "input_schema": schema,
    }


def messages_body(
    request: LLMRequest, card: ModelCard, *, default_max_tokens: int, stream: bool
) -> dict[str, Any]:
    """The JSON body of a ``POST /v1/messages`` request."""
    check_request(request, card)
    args = dict(request.model_args)
    extra_body = args.pop("extra_body", None)
    cache = _cache_places(args.pop("cache_control", None), card)
    ttl = args.pop("cache_ttl", None)
    if args:
        card.check_args(args)
    thinking = _thinking(args.pop("thinking", None), card)
    system, turns = system_and_turns(request.messages)
    body: dict[str, Any] = {"model": card.model_id}
    max_tokens = next((args.pop(k) for k in _MAX_TOKENS_ARGS if k in args), None)
    for k in _MAX_TOKENS_ARGS:
        args.pop(k, None)
    if max_tokens is None:
        max_tokens = default_max_tokens
        if thinking is not None and isinstance(thinking.get("budget_tokens"), int):
            max_tokens += thinking["budget_tokens"]
        if card.max_output_tokens:
            max_tokens = min(max_tokens, card.max_output_tokens)
    body["max_tokens"] = max_tokens
    if system:
        body["system"] = system
    body["messages"] = turns
    for key in _PASSED_ARGS:
        if key in args:
            body[key] = args.pop(key)
    stop = args.pop("stop", None)
    if stop is not None:
        body["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    user = args.pop("user", None)
    if user is not None:
        body["metadata"] = {**body.get("metadata", {}), "user_id": user}
    if thinking is not None:
        body["thinking"] = thinking
        # Extended thinking does not combine with a changed temperature or top_k.
        body.pop("temperature", None)
        body.pop("top_k", None)
    tools = [
        {"name": f.name, "description": f.description, "input_schema": f.json_schema()}
        for f in request.tools
    ]
    choice: dict[str, Any] | None = None
    if "tool_choice" in args:
        choice = _tool_choice(args.pop("tool_choice"), card)
    forced = output_tool(request)
    if forced is not None:
        name, definition = forced
        tools.append(definition)
        thinks = thinking is not None or card.supports(ADAPTIVE_THINKING)
        if choice is None and not thinks:
            # Forced tool use is refused while the model thinks; then the model is asked.
            choice = {"type": "tool", "name": name} if not request.tools else {"type": "any"}
    parallel = args.pop("parallel_tool_calls", None)
    if tools:
        body["tools"] = tools
        if parallel is False:
            choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
    if choice is not None:
        body["tool_choice"] = choice
    body.update(args)
    if isinstance(extra_body, Mapping):
        body.update(extra_body)
    if cache:
        _mark_cache(body, cache, {"type": "ephemeral", **({"ttl": ttl} if ttl else {})})
    if stream:
        body["stream"] = True
    return body


def _mark_cache(body: dict[str, Any], places: tuple[str, ...], mark: dict[str, Any]) -> None:
    """Put a ``cache_control`` breakpoint at the end of each place asked for: the system
    prompt, the tool definitions, the conversation so far (its last content block)."""
    if "system" in places and body.get("system"):
        body["system"][-1] = {**body["system"][-1], "cache_control": mark}
    if "tools" in places and body.get("tools"):
        body["tools"][-1] = {**body["tools"][-1], "cache_control": mark}
    if "messages" in places and body["messages"]:
        content = body["messages"][-1]["content"]
        for i in range(len(content) - 1, -1, -1):
            if content[i]["type"] not in ("thinking", "redacted_thinking"):
                content[i] = {**content[i], "cache_control": mark}
                break
