"""Replies of LLLM's offline scripted model for this project (`lllm run --model scripted`).

Not an LLM: a fixed scenario so the example runs without an API key. The analyst counts the
task's words with its tool, then answers in XML; the summarizer answers with JSON.
"""

from __future__ import annotations

import json
from typing import Any

from lllm_domain import LLMRequest, Role
from lllm_domain.testing import call, tool_calls


def scripted_reply(request: LLMRequest) -> Any:
    """The reply to ``request``, chosen by the prompt that asked."""
    path = request.prompt_path or ""
    last = request.messages[-1]
    if path.startswith("__project_name__/summarize"):
        return json.dumps(
            {
                "title": "Scripted summary",
                "key_points": ["The analyst counted the words", "It answered in XML"],
                "confidence": 0.9,
            }
        )
    if last.role is Role.TOOL:
        return (
            f"<analysis>The task has {last.content} words; I counted them with the tool."
            f"</analysis>\n<answer>{last.content} words</answer>\n<CONFIDENT>"
        )
    task = last.content.split("\n\n", 1)[0].removeprefix("Task: ")
    return tool_calls(call("word_count", text=task))
