"""LLLM: an Agent with one Function; sync ``Agent.call`` over ``OpenAICaller``, async
``Agent.acall`` over one shared ``AsyncOpenAICaller`` (one pooled httpx2 client)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from lllm_adapters.openai import AsyncOpenAICaller, OpenAICaller, OpenAISettings
from lllm_domain import Agent, AgentResult, CallLimits, Function, Prompt
from peer_task import API_KEY, MODEL, POOL, SYSTEM, TASK, add

SYSTEM_PROMPT = Prompt("bench/system", SYSTEM)
TASK_PROMPT = Prompt(
    "bench/task", TASK, functions=(Function.from_callable(add),), required_xml_tags=("answer",)
)


def _settings(base_url: str) -> OpenAISettings:
    return OpenAISettings(
        api_key=API_KEY, base_url=base_url, max_connections=POOL, max_keepalive_connections=POOL
    )


def _answer(result: AgentResult) -> str:
    # The prompt's parser already required the <answer> tag; return it in the common form.
    if len(result.function_calls) != 1:  # a check, not an assert: python -O must not skip it
        raise AssertionError(f"expected one tool call, got {result.function_calls!r}")
    return f"<answer>{result.parsed['xml_tags']['answer'][0]}</answer>"


def sync_runner(base_url: str) -> tuple[Callable[[], str], Callable[[], None]]:
    """A blocking run and a closer."""
    caller = OpenAICaller(_settings(base_url))
    agent = Agent("bench", SYSTEM_PROMPT, MODEL, caller, limits=CallLimits())

    def run() -> str:
        return _answer(agent.call(agent.init_dialog(), TASK_PROMPT))

    return run, caller.close


def async_runner(
    base_url: str,
) -> tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[None]]]:
    """An async run and a closer (call inside the running loop)."""
    caller = AsyncOpenAICaller(_settings(base_url))
    agent = Agent("bench", SYSTEM_PROMPT, MODEL, caller, limits=CallLimits())

    async def run() -> str:
        return _answer(await agent.acall(agent.init_dialog(), TASK_PROMPT))

    return run, caller.aclose
