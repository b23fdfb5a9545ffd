"""LangChain: ``create_agent`` with ``ChatOpenAI`` (pooled httpx clients, sync and async);
sync ``invoke``, async ``ainvoke``. LangSmith tracing is off (the runner clears it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from langchain.agents import create_agent
from langchain_openai import ChatOpenAI
from peer_task import API_KEY, MODEL, POOL, SYSTEM, TASK, add

INPUT = {"messages": [{"role": "user", "content": TASK}]}


def _limits() -> httpx.Limits:
    return httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)


def _agent(**clients: Any) -> Any:
    model = ChatOpenAI(model=MODEL, api_key=API_KEY, max_retries=2, **clients)
    return create_agent(model, tools=[add], system_prompt=SYSTEM)


def _text(state: Any) -> str:
    return str(state["messages"][-1].content)


def sync_runner(base_url: str) -> tuple[Callable[[], str], Callable[[], None]]:
    """A blocking run and a closer."""
    client = httpx.Client(limits=_limits(), timeout=60)
    agent = _agent(base_url=base_url, http_client=client)

    def run() -> str:
        return _text(agent.invoke(INPUT))

    return run, client.close


def async_runner(
    base_url: str,
) -> tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[None]]]:
    """An async run and a closer (call inside the running loop)."""
    client = httpx.AsyncClient(limits=_limits(), timeout=60)
    agent = _agent(base_url=base_url, http_async_client=client)

    async def run() -> str:
        return _text(await agent.ainvoke(INPUT))

    return run, client.aclose
