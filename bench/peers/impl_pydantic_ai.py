"""pydantic-ai: ``Agent`` with ``OpenAIChatModel`` on an ``OpenAIProvider`` wrapping one pooled
``AsyncOpenAI`` client (pydantic-ai is async inside; the sequential figure awaits ``Agent.run``
in one persistent event loop, as ``run_sync`` would, without creating a loop per run)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import openai
from peer_task import API_KEY, MODEL, POOL, SYSTEM, TASK, add
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider


def _agent(base_url: str) -> tuple[Agent[None, str], openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(
        api_key=API_KEY,
        base_url=base_url,
        http_client=openai.DefaultAsyncHttpxClient(
            limits=httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
        ),
    )
    model = OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=client))
    return Agent(model, system_prompt=SYSTEM, tools=[add]), client


def async_runner(
    base_url: str,
) -> tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[None]]]:
    """An async run and a closer (call inside the running loop)."""
    agent, client = _agent(base_url)

    async def run() -> str:
        return (await agent.run(TASK)).output

    return run, client.close


def sync_runner(base_url: str) -> tuple[Callable[[], str], Callable[[], None]]:
    """A blocking run (one persistent loop) and a closer."""
    loop = asyncio.new_event_loop()
    arun, aclose = loop.run_until_complete(_make(base_url))

    def run() -> str:
        return loop.run_until_complete(arun())

    def close() -> None:
        loop.run_until_complete(aclose())
        loop.close()

    return run, close


async def _make(
    base_url: str,
) -> tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[None]]]:
    return async_runner(base_url)
