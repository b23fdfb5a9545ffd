"""Agent calls run as a subprocess by the crash test of the log writer.

``python -m tests.support.agent_writer <kind> <root> <mode>`` runs agent calls forever (``mode``:
``sync``, ``async`` one at a time, or ``concurrent``: async, eight at a time, so that a store with a
log host is written by it), each in its own session with one tool round, logging to the store
``kind`` under ``root`` as shipped, and prints each session's name once its call has returned.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from lllm_domain.agent import Agent
from lllm_domain.function import Function
from lllm_domain.testing import ScriptedCaller, call, tool_calls

from tests.support.domain_builders import SYSTEM_PROMPT, answer_prompt
from tests.support.logs_stores import make_store

ROUND = [tool_calls(call("add", a=2, b=3)), "<answer>5</answer>"]
MESSAGES_PER_CALL = 5  # system, task, tool call, tool result, answer


def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: the first number
        b: the second number
    """
    return a + b


def main(argv: list[str]) -> None:
    kind, root, mode = argv[0], Path(argv[1]), argv[2]
    store = make_store(kind, root)
    prompt = answer_prompt(functions=[Function.from_callable(add)])
    caller = ScriptedCaller(ROUND * 1_000_000)
    agent = Agent("crasher", SYSTEM_PROMPT, model="m", caller=caller, log_store=store)

    async def run_async() -> None:
        i = 0
        while True:
            session = f"run-{i}"
            await agent.acall(agent.init_dialog(session=session), prompt, {"question": "q"})
            sys.stdout.write(session + "\n")
            sys.stdout.flush()
            i += 1

    async def run_concurrent() -> None:
        pipeline = getattr(store, "log_pipeline", None)
        if pipeline is not None:  # its log host takes the calls' records from the first one on
            while pipeline() is None:
                await asyncio.sleep(0.01)
        i = 0

        async def one(session: str) -> None:
            await agent.acall(agent.init_dialog(session=session), prompt, {"question": "q"})
            sys.stdout.write(session + "\n")
            sys.stdout.flush()

        while True:
            await asyncio.gather(*(one(f"run-{i + k}") for k in range(8)))
            i += 8

    if mode == "async":
        asyncio.run(run_async())
    if mode == "concurrent":
        asyncio.run(run_concurrent())
    i = 0
    while True:
        session = f"run-{i}"
        agent.call(agent.init_dialog(session=session), prompt, {"question": "q"})
        sys.stdout.write(session + "\n")
        sys.stdout.flush()
        i += 1


if __name__ == "__main__":
    main(sys.argv[1:])
