"""A real HTTP server on 127.0.0.1 that speaks the OpenAI wire formats (Chat Completions and
Responses; JSON and SSE), for integration tests and benchmarks.

It is scriptable per test — a queue of :class:`Reply` objects, then an optional function of the
request — records every request it receives, and injects faults: error statuses with
``Retry-After``, a connection reset mid-body, a slow reply (read timeout), a truncated,
broken-off or silent SSE stream, a body that is not JSON. It runs on asyncio in a background
thread, so hundreds of concurrent keep-alive connections are cheap; ``latency`` delays every reply.

Use the ``openai_server`` pytest fixture, or ``with OpenAIServer() as server:``. Run
``python -m tests.support.openai_server --port 8000 --latency 0.1`` to serve the built-in
agent loop (a tool call, then a final answer) from a separate process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import pytest

# -- what the server received ----------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)

    @property
    def stream(self) -> bool:
        """Whether the client asked for an SSE stream."""
        try:
            return bool(self.json.get("stream"))
        except ValueError:
            return False

    @property
    def is_responses(self) -> bool:
        """Whether this is a Responses API request."""
        return self.path.rstrip("/").endswith("/responses")


# -- what the server answers -----------------------------------------------------------------


@dataclass
class Reply:
    """One scripted answer.

    ``body`` (a JSON-able value) or ``raw`` (exact bytes) is sent as the body; ``sse`` (a list
    of events: dicts become JSON, strings are sent as they are, a :class:`Pause` keeps the
    stream silent for a while) makes it a stream. Faults:
    ``delay`` before answering, ``reset_mid_body`` (send half the body, then reset the
    connection), ``truncate_after`` (end the stream cleanly after that many events, without the
    terminator), ``reset_after`` (reset the connection after that many events).
    When a client asks for a stream and ``body`` is a whole completion or response, the server
    streams it (so one script serves both forms).
    """

    body: Any = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    sse: Sequence[Any] | None = None
    delay: float = 0.0
    reset_mid_body: bool = False
    truncate_after: int | None = None
    reset_after: int | None = None


@dataclass(frozen=True)
class Pause:
    """Placed among a stream's ``sse`` events: the server sends nothing for ``seconds`` there
    (a silent stream), then goes on with the next event."""

    seconds: float


Handler = Callable[[RecordedRequest], "Reply | Mapping[str, Any]"]


def unanswered_tool_calls(request: RecordedRequest) -> str | None:
    """Why the conversation is invalid because a tool call has no result, or ``None``.

    Chat Completions: every ``tool_calls`` id of an assistant message must be answered by a
    ``tool`` message before the next non-tool message. Responses: every ``function_call`` item
    needs a ``function_call_output`` with its ``call_id``, and every ``computer_call`` item a
    ``computer_call_output`` (whose pending safety checks it must acknowledge).
    """
    try:
        body = request.json
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if request.is_responses:
        items = body.get("input")
        if not isinstance(items, list):
            return None
        calls = [i.get("call_id") for i in items if i.get("type") == "function_call"]
        outputs = {i.get("call_id") for i in items if i.get("type") == "function_call_output"}
        missing = [c for c in calls if c not in outputs]
        if missing:
            return f"No tool output found for function call {missing[0]}."
        return _unanswered_computer_calls(items)
    pending: list[str] = []
    for message in body.get("messages") or ():
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") in pending:
                pending.remove(message.get("tool_call_id"))
            continue
        if pending:
            break
        pending = [c.get("id") for c in message.get("tool_calls") or ()]
    if pending:
        return (
            "An assistant message with 'tool_calls' must be followed by tool messages responding "
            f"to each 'tool_call_id'. The following tool_call_ids did not have response "
            f"messages: {', '.join(pending)}"
        )
    return None


def _unanswered_computer_calls(items: list[Any]) -> str | None:
    outputs = {i.get("call_id"): i for i in items if i.get("type") == "computer_call_output"}
    for item in items:
        if item.get("type") != "computer_call":
            continue
        output = outputs.get(item.get("call_id"))
        if output is None:
            return f"No computer call output found for computer call {item.get('call_id')}."
        pending = {c.get("id") for c in item.get("pending_safety_checks") or ()}
        acknowledged = {c.get("id") for c in output.get("acknowledged_safety_checks") or ()}
        if pending - acknowledged:
            return (
                f"Computer call {item.get('call_id')} has pending safety checks that were not "
                "acknowledged."
            )
    return None


def computer_call(
    call_id: str,
    action: Mapping[str, Any],
    *,
    safety_checks: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """A ``computer_call`` output item (give it to :func:`response_object` as ``hosted``)."""
    return {
        "type": "computer_call",
        "id": f"cu_{call_id}",
        "call_id": call_id,
        "action": dict(action),
        "pending_safety_checks": [dict(c) for c in safety_checks],
        "status": "completed",
    }


def computer_call_outputs(request: RecordedRequest) -> list[dict[str, Any]]:
    """The ``computer_call_output`` items of a Responses request, in order."""
    items = request.json.get("input") or []
    return [i for i in items if i.get("type") == "computer_call_output"]


def error_reply(
    status: int,
    message: str = "scripted error",
    *,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
) -> Reply:
    """An OpenAI-style error body with ``status``."""
    return Reply(
        {"error": {"message": message, "type": "server_error", "code": code}},
        status=status,
        headers=dict(headers or {}),
    )


def rate_limited(retry_after: str = "0", *, header: str = "retry-after") -> Reply:
    """HTTP 429 asking the client to wait (``header`` may be ``retry-after-ms``)."""
    return error_reply(
        429,
        "Rate limit reached for requests",
        headers={header: retry_after},
        code="rate_limit_exceeded",
    )


def invalid_json() -> Reply:
    """HTTP 200 whose body is not JSON."""
    return Reply(raw=b'{"id": "chatcmpl-broken", "choices": [{"message": ')


# -- wire bodies -----------------------------------------------------------------------------

ToolCallSpec = tuple[str, str, str]
"""``(call_id, name, raw_arguments)``."""


def chat_completion(
    text: str | None = "ok",
    *,
    tool_calls: Sequence[ToolCallSpec] = (),
    model: str = "gpt-4o-2024-08-06",
    usage: tuple[int, int, int, int] = (10, 5, 0, 0),
    finish_reason: str | None = None,
    refusal: str | None = None,
    logprobs: Sequence[tuple[str, float, Sequence[tuple[str, float]]]] | None = None,
    id: str = "chatcmpl-1",
) -> dict[str, Any]:
    """A Chat Completions reply; ``usage`` is (prompt, completion, cached, reasoning)."""
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": refusal}
    if tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
            for cid, name, args in tool_calls
        ]
    choice: dict[str, Any] = {
        "index": 0,
        "message": message,
        "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
        "logprobs": None,
    }
    if logprobs is not None:
        choice["logprobs"] = {
            "content": [
                {
                    "token": tok,
                    "logprob": lp,
                    "bytes": None,
                    "top_logprobs": [{"token": t, "logprob": p, "bytes": None} for t, p in top],
                }
                for tok, lp, top in logprobs
            ]
        }
    prompt, completion, cached, reasoning = usage
    return {
        "id": id,
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [choice],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        },
    }


def chat_stream_events(completion: Mapping[str, Any], *, pieces: int = 3) -> list[Any]:
    """The SSE events a server would send for ``completion`` (text and arguments split into
    ``pieces`` deltas each), ending with a usage chunk and ``[DONE]``."""
    choice = completion["choices"][0]
    msg = choice["message"]
    base = {"id": completion["id"], "object": "chat.completion.chunk", "model": completion["model"]}

    def chunk(delta: dict[str, Any], finish: str | None = None, lp: Any = None) -> dict[str, Any]:
        return {
            **base,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": lp}],
        }

    events: list[Any] = [chunk({"role": "assistant", "content": ""})]
    text = msg.get("content") or ""
    lps = (choice.get("logprobs") or {}).get("content")
    for i, part in enumerate(_split(text, pieces)):
        lp = {"content": lps} if lps and i == 0 else None
        events.append(chunk({"content": part}, lp=lp))
    if msg.get("refusal"):
        events.append(chunk({"refusal": msg["refusal"]}))
    for index, tc in enumerate(msg.get("tool_calls") or ()):
        fn = tc["function"]
        events.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": tc["id"],
                            "type": "function",
                            "function": {"name": fn["name"], "arguments": ""},
                        }
                    ]
                }
            )
        )
        for part in _split(fn["arguments"], pieces):
            events.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
            )
    events.append(chunk({}, choice["finish_reason"]))
    events.append({**base, "choices": [], "usage": completion.get("usage")})
    events.append("[DONE]")
    return events


def response_object(
    text: str | None = "ok",
    *,
    tool_calls: Sequence[ToolCallSpec] = (),
    model: str = "gpt-4o-2024-08-06",
    usage: tuple[int, int, int, int] = (10, 5, 0, 0),
    status: str = "completed",
    incomplete_reason: str | None = None,
    refusal: str | None = None,
    hosted: Sequence[Mapping[str, Any]] = (),
    id: str = "resp_1",
) -> dict[str, Any]:
    """A Responses API ``response`` object."""
    output: list[Any] = list(hosted)
    content: list[Any] = []
    if text is not None:
        content.append({"type": "output_text", "text": text, "annotations": []})
    if refusal is not None:
        content.append({"type": "refusal", "refusal": refusal})
    if content:
        output.append(
            {
                "type": "message",
                "id": "msg_1",
                "role": "assistant",
                "status": "completed",
                "content": content,
            }
        )
    for cid, name, args in tool_calls:
        output.append(
            {
                "type": "function_call",
                "id": f"fc_{cid}",
                "call_id": cid,
                "name": name,
                "arguments": args,
                "status": "completed",
            }
        )
    inp, out, cached, reasoning = usage
    return {
        "id": id,
        "object": "response",
        "model": model,
        "status": status,
        "incomplete_details": {"reason": incomplete_reason} if incomplete_reason else None,
        "output": output,
        "usage": {
            "input_tokens": inp,
            "output_tokens": out,
            "total_tokens": inp + out,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens_details": {"reasoning_tokens": reasoning},
        },
    }


def response_stream_events(response: Mapping[str, Any], *, pieces: int = 3) -> list[Any]:
    """The SSE events a Responses API stream would send for ``response``."""
    events: list[Any] = [
        {
            "type": "response.created",
            "response": {**response, "output": [], "status": "in_progress"},
        }
    ]
    for item in response["output"]:
        if item["type"] == "message":
            for part in item["content"]:
                if part["type"] == "output_text":
                    for piece in _split(part["text"], pieces):
                        events.append({"type": "response.output_text.delta", "delta": piece})
        elif item["type"] == "function_call":
            for piece in _split(item["arguments"], pieces):
                events.append({"type": "response.function_call_arguments.delta", "delta": piece})
        events.append({"type": "response.output_item.done", "item": item})
    final = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
    events.append({"type": final, "response": response})
    return events


def _split(text: str, pieces: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


# -- the server ------------------------------------------------------------------------------


def agent_loop_handler(request: RecordedRequest) -> Reply | Mapping[str, Any]:
    """A tool call first; once a tool result is in the conversation, a final answer."""
    body = request.json
    if request.is_responses:
        done = any(i.get("type") == "function_call_output" for i in body["input"])
        if done:
            return response_object("The weather in Paris is sunny.")
        return response_object(None, tool_calls=[("call_1", "get_weather", '{"city": "Paris"}')])
    last = body["messages"][-1]
    if last["role"] == "tool":
        return chat_completion("The weather in Paris is sunny.")
    return chat_completion(None, tool_calls=[("call_1", "get_weather", '{"city": "Paris"}')])


class OpenAIServer:
    """The scriptable OpenAI-compatible server (see the module docstring).

    ``url`` is the base URL to give a caller (``http://127.0.0.1:<port>/v1``).
    """

    def __init__(
        self, *, latency: float = 0.0, handler: Handler | None = None, port: int = 0
    ) -> None:
        self.latency = latency
        self.handler = handler
        self.requests: list[RecordedRequest] = []
        self.connections = 0
        """TCP connections accepted so far (a pooled client reuses one)."""
        self._queue: deque[Reply | Mapping[str, Any]] = deque()
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._writers: set[asyncio.StreamWriter] = set()

    # -- scripting ---------------------------------------------------------------------------

    def script(self, *replies: Reply | Mapping[str, Any]) -> OpenAIServer:
        """Queue replies, answered in order (a mapping is a 200 JSON body)."""
        self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """Scripted replies not used yet."""
        return len(self._queue)

    def reset(self) -> None:
        """Forget recorded requests and queued replies."""
        self._queue.clear()
        self.requests.clear()
        self.handler = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        return self._port

    @property
    def url(self) -> str:
        """The base URL (with ``/v1``)."""
        return f"http://127.0.0.1:{self._port}/v1"

    def start(self) -> OpenAIServer:
        """Start serving in a background thread."""
        self._thread = threading.Thread(target=self._run, name="openai-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the OpenAI test server did not start")
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        loop = self._loop
        if loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self._port, backlog=2048)
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    def serve_forever(self) -> None:
        """Serve in the current thread until interrupted (for ``python -m``)."""
        self._run()

    # -- HTTP --------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                body = await reader.readexactly(length) if length else b""
                request = RecordedRequest(method, path, headers, body)
                self.requests.append(request)
                keep = await self._answer(request, writer)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            if not writer.transport.is_closing():
                writer.close()

    # -- what differs between wire formats (overridden by the Anthropic server) -------------

    def _refusal(self, request: RecordedRequest) -> Reply | None:
        """The 400 the real API gives a conversation it refuses, or ``None``."""
        problem = unanswered_tool_calls(request)
        if problem is None:
            return None
        return error_reply(400, problem, code="invalid_request_error")

    def _exhausted(self) -> Reply:
        """The answer once no scripted reply is left."""
        return Reply(
            {"error": {"message": "the test server has no scripted reply left"}},
            status=500,
            headers={"x-should-retry": "false"},
        )

    def _stream_of(self, request: RecordedRequest, body: dict[str, Any]) -> list[Any] | None:
        """The SSE events streaming a whole scripted ``body`` (``None``: not streamable)."""
        if body.get("object") == "chat.completion":
            return chat_stream_events(body)
        if body.get("object") == "response":
            return response_stream_events(body)
        return None

    def _event_bytes(self, request: RecordedRequest, event: Any) -> bytes:
        """One SSE event on the wire."""
        data = event if isinstance(event, str) else json.dumps(event)
        if isinstance(event, dict) and request.is_responses and "type" in event:
            return f"event: {event['type']}\ndata: {data}\n\n".encode()
        return f"data: {data}\n\n".encode()

    def _next_reply(self, request: RecordedRequest) -> Reply:
        refusal = self._refusal(request)
        if refusal is not None:
            # The real API refuses such a conversation with a 400; so does this server, without
            # consuming a scripted reply.
            return refusal
        if self._queue:
            item = self._queue.popleft()
        elif self.handler is not None:
            item = self.handler(request)
        else:
            return self._exhausted()
        if isinstance(item, Reply):
            return item
        return Reply(dict(item))

    async def _answer(self, request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        reply = self._next_reply(request)
        delay = self.latency + reply.delay
        if delay:
            await asyncio.sleep(delay)
        if writer.transport.is_closing():
            return False
        sse = reply.sse
        if sse is None and request.stream and reply.status < 400 and isinstance(reply.body, dict):
            sse = self._stream_of(request, reply.body)
        try:
            reason = HTTPStatus(reply.status).phrase
        except ValueError:
            reason = "Unknown"
        extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
        if sse is not None:
            writer.write(
                (
                    f"HTTP/1.1 {reply.status} {reason}\r\ncontent-type: text/event-stream\r\n"
                    f"transfer-encoding: chunked\r\n{extra}\r\n"
                ).encode()
            )
            for index, event in enumerate(sse):
                if reply.reset_after is not None and index >= reply.reset_after:
                    await writer.drain()
                    _reset(writer)
                    return False
                if reply.truncate_after is not None and index >= reply.truncate_after:
                    break
                if isinstance(event, Pause):
                    await writer.drain()
                    await asyncio.sleep(event.seconds)
                    continue
                payload = self._event_bytes(request, event)
                writer.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        if reply.raw is not None:
            payload = reply.raw
        elif reply.body is None:
            payload = b""
        else:
            payload = json.dumps(reply.body).encode()
        head = (
            f"HTTP/1.1 {reply.status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\n{extra}\r\n"
        ).encode()
        if reply.reset_mid_body:
            writer.write(head + payload[: len(payload) // 2])
            await writer.drain()
            _reset(writer)
            return False
        writer.write(head + payload)
        await writer.drain()
        return True


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset rather than an orderly shutdown."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    """A fresh scriptable OpenAI server on 127.0.0.1 for one test."""
    with OpenAIServer() as server:
        yield server


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the built-in agent loop until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = OpenAIServer(latency=args.latency, handler=agent_loop_handler, port=args.port)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
