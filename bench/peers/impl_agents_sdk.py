"""The OpenAI Agents SDK: ``Agent`` with ``OpenAIChatCompletionsModel`` on one pooled
``AsyncOpenAI`` client, ``Runner.run``; tracing disabled (the SDK is async inside; the
sequential figure awaits ``Runner.run`` in one persistent event loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import openai
from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool, set_tracing_disabled
from peer_task import API_KEY, MODEL, POOL, SYSTEM, TASK, add

ADD = function_tool(add)


def async_runner(
    base_url: str,
) -> tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[None]]]:
    """An async run and a closer (call inside the running loop)."""
    set_tracing_disabled(True)
    client = openai.AsyncOpenAI(
        api_key=API_KEY,
        base_url=base_url,
        http_client=openai.DefaultAsyncHttpxClient(
            limits=httpx.Limits(max_connections=POOL, max_keepalive_connections=POOL)
        ),
    )
    agent = Agent(
        name="bench",
        instructions=SYSTEM,
        tools=[ADD],
        model=OpenAIChatCompletionsModel(model=MODEL, openai_client=client),
    )

    async def run() -> str:
        result = await Runner.run(agent, TASK)
        return str(result.final_output)

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
