"""Images returned by tools: a tool's ToolOutput reaches the model on its tool message, every
image of it, in both drivers; repeats and errors carry none; logs and replays keep them."""

from __future__ import annotations

import asyncio

from attrs import define
from lllm_domain import Image, ToolOutput, tool
from lllm_domain.function import Function, default_processor
from lllm_domain.message import Message, Modality, Role
from lllm_domain.recording.fingerprint import fingerprint
from lllm_domain.serialization import message_from_data, message_from_json, message_to_data, to_json
from lllm_domain.testing import call, tool_calls
from lllm_domain.tool_output import images_of

from tests.support.domain_builders import answer_prompt, make_agent

ANSWER = "<answer>5</answer>"
RED = Image("cmVk", "image/png")
BLUE = Image("Ymx1ZQ==", "image/jpeg", detail="low")


@tool
def show(n: int) -> ToolOutput:
    """Show ``n`` pictures (at most two)."""
    return ToolOutput(f"{n} picture(s)", (RED, BLUE)[:n])


def test_the_default_processor_reads_a_tool_outputs_text() -> None:
    assert default_processor(ToolOutput("seen", (RED,))) == "seen"
    assert images_of(ToolOutput("seen", (RED, BLUE))) == (RED, BLUE)
    assert images_of({"images": [RED]}) == ()
    assert images_of(None) == ()


def test_every_image_a_tool_returns_is_on_its_tool_message_in_both_drivers() -> None:
    for mode in ("sync", "async"):
        agent, caller, _ = make_agent([tool_calls(call("show", n=2)), ANSWER])
        dialog = agent.init_dialog()
        prompt = answer_prompt(functions=[show])
        if mode == "sync":
            agent.call(dialog, prompt, {"question": "q"})
        else:
            asyncio.run(agent.acall(dialog, prompt, {"question": "q"}))
        sent = caller.requests[1].messages[-1]
        assert sent.role is Role.TOOL
        assert sent.content == "2 picture(s)"
        assert sent.images == (RED, BLUE)
        assert sent.all_images == (RED, BLUE)
        assert sent.modality is Modality.IMAGE


def test_a_repeated_call_does_not_send_its_images_again() -> None:
    agent, caller, _ = make_agent(
        [tool_calls(call("show", n=1)), tool_calls(call("show", n=1)), ANSWER]
    )
    agent.call(agent.init_dialog(), answer_prompt(functions=[show]), {"question": "q"})
    first = caller.requests[1].messages[-1]
    repeat = caller.requests[2].messages[-1]
    assert first.images == (RED,)
    assert repeat.tool_call_id != first.tool_call_id
    assert repeat.images == ()


def test_a_failed_tool_call_carries_no_images() -> None:
    agent, caller, _ = make_agent([tool_calls(call("show", n="two")), ANSWER])
    agent.call(agent.init_dialog(), answer_prompt(functions=[show]), {"question": "q"})
    failed = caller.requests[1].messages[-1]
    assert failed.content.startswith("Error:")
    assert failed.images == ()


@define(frozen=True, slots=True)
class Chart(ToolOutput):
    """A ToolOutput that keeps more of its result."""

    points: int = 0


def test_a_subclass_of_tool_output_keeps_its_extra_fields_on_the_call() -> None:
    def chart() -> Chart:
        """A chart."""
        return Chart("a chart", (RED,), points=3)

    agent, caller, _ = make_agent([tool_calls(call("chart")), ANSWER])
    prompt = answer_prompt(functions=[Function.from_callable(chart)])
    result = agent.call(agent.init_dialog(), prompt, {"question": "q"})
    assert result.function_calls[0].result == Chart("a chart", (RED,), 3)
    assert caller.requests[1].messages[-1].images == (RED,)


def test_a_message_with_images_round_trips_and_old_records_still_load() -> None:
    message = Message(Role.TOOL, "two", "function", tool_call_id="c1", images=(RED, BLUE))
    assert message_from_data(message_to_data(message)) == message
    assert message_from_json(to_json(message)) == message
    plain = Message(Role.TOOL, "two", "function", tool_call_id="c1")
    assert "images" not in message_to_data(plain)  # records without images are unchanged
    assert message_from_data({"role": "tool", "content": "x", "creator": "f"}).images == ()


def test_all_images_puts_the_single_image_first() -> None:
    message = Message(Role.USER, "", "user", image=RED, images=(BLUE, RED))
    assert message.all_images == (RED, BLUE, RED)


def test_images_are_part_of_a_messages_replay_fingerprint() -> None:
    plain = Message(Role.TOOL, "two", "function", tool_call_id="c1")
    assert "images" not in fingerprint(plain)  # older recordings keep matching
    red = plain.replace(images=(RED,))
    blue = plain.replace(images=(BLUE,))
    assert fingerprint(red) != fingerprint(blue) != fingerprint(plain)
    assert fingerprint(red) == fingerprint(plain.replace(images=(RED,)))
