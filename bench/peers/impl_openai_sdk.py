"""The plain OpenAI SDK: a hand-written tool loop over ``openai.OpenAI`` / ``AsyncOpenAI``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import openai
from peer_task import API_KEY, MODEL, POOL, SYSTEM, TASK, TOOLS, add


def _limits() -> httpx.Limits:
    return httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)


def _messages() -> list[Any]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": TASK}]


def _tool_turn(messages: list[Any], msg: Any) -> bool:
    if not msg.tool_calls:
        return False
    messages.append(msg.model_dump(exclude_none=True))
    for call in msg.tool_calls:
        result = add(**json.loads(call.function.arguments))
        messages.append({"role": "tool", "tool_call_id": call.id, "content": str(result)})
    return True


def sync_runner(base_url: str) -> tuple[Callable[[], str], Callable[[], None]]:
    """A blocking run and a closer."""
    client = openai.OpenAI(
        api_key=API_KEY,
        base_url=base_url,
        http_client=openai.DefaultHttpxClient(limits=_limits()),
    )

    def run() -> str:
        messages = _messages()
        while True:
            reply = client.chat.completions.create(model=MODEL, messages=messages, tools=TOOLS)
            msg = reply.choices[0].message
            if not _tool_turn(messages, msg):
                return msg.content or ""

    return run, client.close


def async_runner(
    base_url: str,
) -> tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[None]]]:
    """An async run and a closer (call inside the running loop)."""
    client = openai.AsyncOpenAI(
        api_key=API_KEY,
        base_url=base_url,
        http_client=openai.DefaultAsyncHttpxClient(limits=_limits()),
    )

    async def run() -> str:
        messages = _messages()
        while True:
            reply = await client.chat.completions.create(
                model=MODEL, messages=messages, tools=TOOLS
            )
            msg = reply.choices[0].message
            if not _tool_turn(messages, msg):
                return msg.content or ""

    return run, client.close
