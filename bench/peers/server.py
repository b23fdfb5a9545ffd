"""The scripted OpenAI-compatible server for bench/peers, meant to run in its own process.

If the last message is a tool result it answers ``<answer>5</answer>`` (``<answer>wrong tool
result: ...</answer>`` when the result is not 5, so a broken tool fails the client's check);
otherwise it asks for the ``add`` tool with ``a=2, b=3``.

Run: ``python bench/peers/server.py --port 18741 --latency 0.1``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the server lives in tests/support

from tests.support.openai_server import (  # noqa: E402
    OpenAIServer,
    RecordedRequest,
    Reply,
    chat_completion,
    response_object,
)

TOOL_CALL = ("call_add_1", "add", '{"a": 2, "b": 3}')


def _final(result: Any) -> str:
    text = result if isinstance(result, str) else json.dumps(result)
    if text.strip().strip('"') == "5":
        return "<answer>5</answer>"
    return f"<answer>wrong tool result: {text[:80]}</answer>"


def add_handler(request: RecordedRequest) -> Reply | Mapping[str, Any]:
    """The scripted behaviour (Chat Completions; the Responses API is served alike)."""
    body = request.json
    if request.is_responses:
        items = body["input"] if isinstance(body["input"], list) else []
        last = items[-1] if items else {}
        if last.get("type") == "function_call_output":
            return response_object(_final(last.get("output")))
        return response_object(None, tool_calls=[TOOL_CALL])
    last = body["messages"][-1]
    if last["role"] == "tool":
        content = last.get("content")
        if isinstance(content, list):  # content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return chat_completion(_final(content))
    return chat_completion(None, tool_calls=[TOOL_CALL])


class _Forget(list[RecordedRequest]):
    """A request log that keeps nothing."""

    def append(self, item: RecordedRequest) -> None:
        """Drop ``item``."""


def main() -> None:
    """Serve until terminated."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    server = OpenAIServer(latency=args.latency, handler=add_handler, port=args.port)
    server.requests = _Forget()  # a long benchmark must not keep every request in memory
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
