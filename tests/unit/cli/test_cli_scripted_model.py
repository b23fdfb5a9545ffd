"""The built-in scripted model answers with every tag a prompt requires, listed tags included."""

from __future__ import annotations

from lllm_cli.scripted_model import default_reply
from lllm_domain.prompt import Prompt
from lllm_domain.registry import PromptRegistry
from lllm_domain.request import LLMRequest


def test_scripted_replies_hold_every_listed_tag_and_parse() -> None:
    prompt = Prompt(
        "p/task",
        "Q",
        xml_tags=("analysis", "answer", "aside"),
        md_tags=("python",),
        optional_xml_tags=("aside",),
    )
    registry = PromptRegistry()
    registry.add(prompt)
    reply = default_reply(registry)(LLMRequest(messages=(), model="m", prompt_path="p/task"))
    assert reply == (
        "<analysis>scripted analysis</analysis>\n<answer>scripted answer</answer>\n"
        "```python\nscripted python\n```"
    )
    assert prompt.parse(reply)["xml_tags"]["aside"] == []
