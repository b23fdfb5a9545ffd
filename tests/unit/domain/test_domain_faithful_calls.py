"""Dialogs and agent calls behave as the original LLLM's did: plain text becomes the top prompt,
``overview`` takes the original's keywords, calls take ``parser_args`` and ``extra``, and a
pydantic model works as a prompt's ``format``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pydantic
import pytest
from lllm_adapters.openai.request_args import output_schema
from lllm_domain.errors import ParseRetriesExhaustedError, PromptError
from lllm_domain.function import Function
from lllm_domain.limits import CallLimits
from lllm_domain.ports import NullFrontend
from lllm_domain.prompt import Prompt
from lllm_domain.testing import call, tool_calls

from tests.support.domain_builders import answer_prompt, make_agent


def _tool_prompt() -> Prompt:
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Args:
            a: the first number
            b: the second number
        """
        return a + b

    return answer_prompt(functions=[Function.from_callable(add)])


def test_plain_text_becomes_the_top_prompt_so_the_next_call_offers_no_tools() -> None:
    agent, caller, _ = make_agent(["<answer>1</answer>", "just words"])
    dialog = agent.init_dialog()
    agent.call(dialog, _tool_prompt(), {"question": "q"})
    assert dialog.top_prompt is not None and dialog.top_prompt.functions
    dialog.send_message("Now say anything.")
    assert dialog.top_prompt is None
    result = agent.call(dialog)  # no required <answer> tag, no tools any more
    assert result.parsed == {"raw": "just words"}
    assert caller.requests[1].tools == ()


class _Screen(NullFrontend):
    def __init__(self) -> None:
        self.shown: list[str] = []

    def write(self, *objects: Any) -> None:
        self.shown.append(" ".join(str(o) for o in objects))

    def divider(self) -> None:
        self.shown.append("---")


def test_overview_takes_the_originals_keywords() -> None:
    agent, _, _ = make_agent(["<answer>" + "x" * 50 + "</answer>"])
    dialog = agent.init_dialog()
    agent.call(dialog, answer_prompt(), {"question": "q"})
    full = dialog.overview()
    assert full.count("\n") == 2
    without_tail = dialog.overview(remove_tail=True)
    assert without_tail == "\n".join(full.splitlines()[:2])
    assert "…" in dialog.overview(max_length=20) and "…" not in full
    screen = _Screen()
    text = dialog.overview(stream=screen, divider=True)
    assert screen.shown[0] == "---" and screen.shown[1] == text
    assert screen.shown[2].startswith("cost: $")


def _json_parser(text: str, prompt: Prompt, *, key: str = "answer") -> Any:
    return json.loads(text)[key]


def test_parser_args_reach_the_prompts_parser() -> None:
    prompt = Prompt("t/json", "Give JSON for {question}", parser=_json_parser)
    agent, _, _ = make_agent(['{"answer": 1, "value": 42}'])
    result = agent.call(
        agent.init_dialog(), prompt, {"question": "q"}, parser_args={"key": "value"}
    )
    assert result.parsed == 42


def test_parser_args_for_the_default_parser_are_refused_before_any_request() -> None:
    agent, caller, _ = make_agent(["<answer>1</answer>"])
    dialog = agent.init_dialog()
    with pytest.raises(PromptError, match=r"parser_args \['key'\].*default parser"):
        agent.call(dialog, answer_prompt(), {"question": "q"}, parser_args={"key": "v"})
    assert caller.requests == [] and len(dialog) == 1


def test_extra_rides_on_every_reply_of_the_call() -> None:
    agent, _, _ = make_agent([tool_calls(call("add", a=1, b=2)), "no tag", "<answer>3</answer>"])
    result = agent.call(
        agent.init_dialog(), _tool_prompt(), {"question": "q"}, extra={"experiment": "e1"}
    )
    replies = [m for m in result.dialog if m.creator == "tester"]
    assert len(replies) == 2
    assert all(m.extra["experiment"] == "e1" for m in replies)
    assert result.message.attempts[0].extra["experiment"] == "e1"


class Verdict(pydantic.BaseModel):
    label: str
    confidence: float = pydantic.Field(ge=0, le=1)


def test_a_pydantic_model_as_format_returns_a_validated_instance() -> None:
    prompt = Prompt("t/verdict", "Judge {question}", format=Verdict)
    agent, caller, _ = make_agent(['{"label": "yes", "confidence": 0.9}'])
    result = asyncio.run(agent.acall(agent.init_dialog(), prompt, {"question": "q"}))
    assert result.parsed == Verdict(label="yes", confidence=0.9)
    assert caller.requests[0].output_format is Verdict
    name, schema, strict = output_schema(Verdict)
    assert (name, strict) == ("Verdict", False)
    assert schema["properties"]["confidence"]["maximum"] == 1


def test_a_reply_the_pydantic_model_rejects_is_a_parse_failure_asked_again() -> None:
    prompt = Prompt("t/verdict", "Judge {question}", format=Verdict)
    agent, _, _ = make_agent(
        ['{"label": "yes", "confidence": 7}'], limits=CallLimits(max_exception_retry=0)
    )
    with pytest.raises(ParseRetriesExhaustedError, match="Verdict"):
        agent.call(agent.init_dialog(), prompt, {"question": "q"})
