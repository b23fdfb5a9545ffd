"""A real HTTP server on 127.0.0.1 that speaks the Anthropic Messages API (JSON and SSE), for
integration tests and benchmarks.

It is the OpenAI test server (:mod:`tests.support.openai_server`: scripted replies, recorded
requests, fault injection: error statuses with ``retry-after``, resets mid-body, slow replies,
truncated / broken-off / silent streams, bodies that are not JSON) speaking Anthropic's wire
format: ``POST /v1/messages``, ``message`` objects, named SSE events (``message_start`` ...
``message_stop``), errors as ``{"type": "error", "error": {"type", "message"}}``. Like the real
API it refuses with a 400 a request without ``max_tokens``, a ``tool_use`` left without its
``tool_result``, and (with thinking on) a tool-use turn sent back without its thinking block.

Use the ``anthropic_server`` pytest fixture, or ``with AnthropicServer() as server:``. Run
``python -m tests.support.anthropic_server --port 8001 --latency 0.1`` to serve the built-in
agent loop (a tool call, then a final answer) from a separate process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from tests.support.openai_server import OpenAIServer, Pause, RecordedRequest, Reply, _split

__all__ = [
    "AnthropicServer",
    "Pause",
    "RecordedRequest",
    "Reply",
    "agent_loop_handler",
    "anthropic_error",
    "anthropic_server",
    "message",
    "message_stream_events",
    "overloaded",
    "rate_limited",
]

ToolUseSpec = tuple[str, str, Mapping[str, Any]]
"""``(tool_use_id, name, input)``."""


def message(
    text: str | None = "ok",
    *,
    tool_uses: Sequence[ToolUseSpec] = (),
    thinking: Sequence[Mapping[str, Any]] = (),
    model: str = "claude-sonnet-4-5-20250929",
    usage: tuple[int, int, int, int] = (10, 5, 0, 0),
    stop_reason: str | None = None,
    id: str = "msg_1",
) -> dict[str, Any]:
    """A Messages API reply; ``usage`` is (input, output, cache writes, cache reads), with
    ``input`` the uncached part as the API reports it. ``thinking`` blocks come first."""
    content: list[dict[str, Any]] = [dict(block) for block in thinking]
    if text is not None:
        content.append({"type": "text", "text": text})
    for tool_id, name, arguments in tool_uses:
        content.append({"type": "tool_use", "id": tool_id, "name": name, "input": dict(arguments)})
    fresh, out, writes, reads = usage
    return {
        "id": id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason or ("tool_use" if tool_uses else "end_turn"),
        "stop_sequence": None,
        "usage": {
            "input_tokens": fresh,
            "output_tokens": out,
            "cache_creation_input_tokens": writes,
            "cache_read_input_tokens": reads,
        },
    }


def message_stream_events(reply: Mapping[str, Any], *, pieces: int = 3) -> list[Any]:
    """The SSE events the API sends for ``reply`` (text, tool input and thinking split into
    ``pieces`` deltas each), ``ping`` included, ending with ``message_stop``."""
    usage = dict(reply["usage"])
    start_usage = {**usage, "output_tokens": 1}
    events: list[Any] = [
        {
            "type": "message_start",
            "message": {**reply, "content": [], "stop_reason": None, "usage": start_usage},
        },
        {"type": "ping"},
    ]
    for index, block in enumerate(reply["content"]):
        kind = block["type"]
        if kind == "text":
            start: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": p} for p in _split(block["text"], pieces)]
        elif kind == "tool_use":
            start = {**block, "input": {}}
            raw = json.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in _split(raw, pieces)]
        elif kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": p} for p in _split(block["thinking"], pieces)
            ]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        else:  # redacted_thinking arrives whole
            start, deltas = dict(block), []
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        for delta in deltas:
            events.append({"type": "content_block_delta", "index": index, "delta": delta})
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": usage["output_tokens"]},
        }
    )
    events.append({"type": "message_stop"})
    return events


def anthropic_error(
    status: int,
    message: str = "scripted error",
    *,
    type: str = "api_error",
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """An Anthropic-style error body with ``status``."""
    return Reply(
        {"type": "error", "error": {"type": type, "message": message}},
        status=status,
        headers={"request-id": "req_test", **(headers or {})},
    )


def overloaded() -> Reply:
    """HTTP 529: the API is overloaded."""
    return anthropic_error(529, "Overloaded", type="overloaded_error")


def rate_limited(retry_after: str = "0") -> Reply:
    """HTTP 429 asking the client to wait ``retry_after`` seconds."""
    return anthropic_error(
        429,
        "Number of request tokens has exceeded your per-minute rate limit",
        type="rate_limit_error",
        headers={"retry-after": retry_after},
    )


def refusal_of(request: RecordedRequest) -> str | None:
    """Why the real API would refuse this request with a 400, or ``None``."""
    try:
        body = request.json
    except ValueError:
        return "The request body is not valid JSON"
    if not isinstance(body, dict):
        return "The request body must be a JSON object"
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    turns = body.get("messages") or []
    thinking_on = (body.get("thinking") or {}).get("type") == "enabled"
    for i, turn in enumerate(turns):
        content = turn.get("content")
        if turn.get("role") != "assistant" or not isinstance(content, list):
            continue
        ids = [b["id"] for b in content if b.get("type") == "tool_use"]
        if not ids:
            continue
        if thinking_on and content[0].get("type") not in ("thinking", "redacted_thinking"):
            return (
                f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
                f"found `{content[0].get('type')}`. When `thinking` is enabled, a final "
                "`assistant` message must start with a thinking block"
            )
        answer = turns[i + 1].get("content") if i + 1 < len(turns) else None
        answered = {
            b.get("tool_use_id")
            for b in (answer if isinstance(answer, list) else [])
            if b.get("type") == "tool_result"
        }
        missing = [t for t in ids if t not in answered]
        if missing:
            return (
                f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )
    return None


def agent_loop_handler(request: RecordedRequest) -> Reply | Mapping[str, Any]:
    """A tool call first; once a tool result is in the conversation, a final answer."""
    last = request.json["messages"][-1]
    content = last.get("content")
    if isinstance(content, list) and any(b.get("type") == "tool_result" for b in content):
        return message("The weather in Paris is sunny.")
    return message(None, tool_uses=[("toolu_1", "get_weather", {"city": "Paris"})])


class AnthropicServer(OpenAIServer):
    """The scriptable Messages API server (see the module docstring).

    ``url`` is the base URL to give a caller (``http://127.0.0.1:<port>``; requests go to
    ``/v1/messages``).
    """

    @property
    def url(self) -> str:
        """The base URL (without ``/v1``, as ``ANTHROPIC_BASE_URL``)."""
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply | Mapping[str, Any]) -> AnthropicServer:
        """Queue replies, answered in order (a mapping is a 200 JSON body)."""
        super().script(*replies)
        return self

    def start(self) -> AnthropicServer:
        """Start serving in a background thread."""
        super().start()
        return self

    def __enter__(self) -> AnthropicServer:
        return self.start()

    def _refusal(self, request: RecordedRequest) -> Reply | None:
        problem = refusal_of(request)
        if problem is None:
            return None
        return anthropic_error(400, problem, type="invalid_request_error")

    def _exhausted(self) -> Reply:
        return anthropic_error(
            500,
            "the test server has no scripted reply left",
            headers={"x-should-retry": "false"},
        )

    def _stream_of(self, request: RecordedRequest, body: dict[str, Any]) -> list[Any] | None:
        return message_stream_events(body) if body.get("type") == "message" else None

    def _event_bytes(self, request: RecordedRequest, event: Any) -> bytes:
        if isinstance(event, dict):
            return f"event: {event.get('type')}\ndata: {json.dumps(event)}\n\n".encode()
        return f"data: {event}\n\n".encode()


@pytest.fixture
def anthropic_server() -> Iterator[AnthropicServer]:
    """A fresh scriptable Messages API server on 127.0.0.1 for one test."""
    with AnthropicServer() as server:
        yield server


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the built-in agent loop until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = AnthropicServer(latency=args.latency, handler=agent_loop_handler, port=args.port)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
