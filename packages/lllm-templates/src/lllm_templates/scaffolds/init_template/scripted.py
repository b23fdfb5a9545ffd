"""Replies of LLLM's offline scripted model for this project (`lllm run --model scripted`).

The scripted model is not an LLM: it plays a fixed scenario so the project runs without an API
key. Here: ask for the add tool with the first two numbers of the task, answer once without
the required tag (the framework's exception handler asks again), then answer properly.
"""

from __future__ import annotations

import re
from typing import Any

from lllm_domain import LLMRequest, Role
from lllm_domain.testing import call, tool_calls


def _numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text)]


def scripted_reply(request: LLMRequest) -> Any:
    """The reply to ``request``: a tool call, a malformed answer, then the final answer."""
    last = request.messages[-1]
    if last.role is Role.TOOL:
        return f"The sum is {last.content}."  # no <answer> tag: the parser will complain
    if last.prompt_path and last.prompt_path.endswith("::exception"):
        results = [m.content for m in request.messages if m.role is Role.TOOL]
        return f"<answer>{results[-1] if results else 'unknown'}</answer>"
    task = next((m.content for m in reversed(request.messages) if m.role is Role.USER), "")
    numbers = [*_numbers(task.split("\n\n", 1)[0]), 2.0, 3.0][:2]
    return tool_calls(call("add", a=numbers[0], b=numbers[1]))
