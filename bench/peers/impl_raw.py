"""The floor: a hand-written agent loop over raw httpx2 (no framework)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
from peer_task import API_KEY, MODEL, POOL, SYSTEM, TASK, TOOLS, add

HEADERS = {"authorization": f"Bearer {API_KEY}"}


def _first() -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": TASK}],
        "tools": TOOLS,
    }


def _with_results(body: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any] | None:
    msg = reply["choices"][0]["message"]
    calls = msg.get("tool_calls")
    if not calls:
        return None
    messages = [*body["messages"], {"role": "assistant", "content": None, "tool_calls": calls}]
    for call in calls:
        result = add(**json.loads(call["function"]["arguments"]))
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": str(result)})
    return {**body, "messages": messages}


def sync_runner(base_url: str) -> tuple[Callable[[], str], Callable[[], None]]:
    """A blocking run and a closer."""
    limits = httpx2.Limits(max_connections=POOL, max_keepalive_connections=POOL)
    client = httpx2.Client(limits=limits, timeout=60)
    url = f"{base_url}/chat/completions"

    def run() -> str:
        body: dict[str, Any] | None = _first()
        while True:
            assert body is not None
            reply = client.post(url, json=body, headers=HEADERS).json()
            nxt = _with_results(body, reply)
            if nxt is None:
                content: str = reply["choices"][0]["message"]["content"]
                return content
            body = nxt

    return run, client.close


def async_runner(
    base_url: str,
) -> tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[None]]]:
    """An async run and a closer (call inside the running loop)."""
    limits = httpx2.Limits(max_connections=POOL, max_keepalive_connections=POOL)
    client = httpx2.AsyncClient(limits=limits, timeout=60)
    url = f"{base_url}/chat/completions"

    async def run() -> str:
        body: dict[str, Any] | None = _first()
        while True:
            assert body is not None
            reply = (await client.post(url, json=body, headers=HEADERS)).json()
            nxt = _with_results(body, reply)
            if nxt is None:
                content: str = reply["choices"][0]["message"]["content"]
                return content
            body = nxt

    return run, client.aclose
