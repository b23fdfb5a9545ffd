"""Computer use in the domain: the action values, and the agent call's computer loop with a
fake computer and the scripted caller (no browser, no model)."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lllm_domain.agent import Agent
from lllm_domain.agent_call import ACCEPTS, ComputerFinished
from lllm_domain.agent_state import Phase
from lllm_domain.computer import (
    ACTION_TYPES,
    Click,
    ComputerAction,
    ComputerCall,
    ComputerUse,
    DoubleClick,
    Drag,
    KeyPress,
    Move,
    SafetyCheck,
    ScreenCapture,
    Screenshot,
    ScreenSize,
    Scroll,
    Type,
    Wait,
    action_from_data,
)
from lllm_domain.errors import (
    ComputerError,
    ComputerSafetyRefusedError,
    ComputerStepLimitError,
    ConfigError,
)
from lllm_domain.limits import CallLimits
from lllm_domain.message import Message, Modality, Role
from lllm_domain.prompt import Prompt
from lllm_domain.serialization import message_from_data, message_to_data
from lllm_domain.testing import FakeClock, ScriptedCaller

points = st.integers(0, 4000)
actions = st.one_of(
    st.just(Screenshot()),
    st.builds(Click, points, points, st.sampled_from(["left", "right", "middle"])),
    st.builds(DoubleClick, points, points),
    st.builds(Move, points, points),
    st.builds(Drag, st.lists(st.tuples(points, points), min_size=1, max_size=5).map(tuple)),
    st.builds(Scroll, points, points, st.integers(-900, 900), st.integers(-900, 900)),
    st.builds(Type, st.text(max_size=40)),
    st.builds(KeyPress, st.lists(st.sampled_from(["CTRL", "A", "ENTER"]), max_size=3).map(tuple)),
    st.builds(Wait, st.integers(0, 5000)),
)


@given(actions)
def test_an_action_survives_its_wire_form(action: ComputerAction) -> None:
    data = action.as_data()
    assert data["type"] in ACTION_TYPES
    assert action_from_data(data) == action


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"type": "teleport"}, "unknown action type 'teleport'"),
        ({"type": "click", "x": "10", "y": 2}, "'x' must be a number"),
        ({"type": "type", "text": 3}, "'text' must be a string"),
        ({"type": "keypress", "keys": "ENTER"}, "'keys' must be a list"),
        ({"type": "drag", "path": []}, "'path' must be a non-empty list"),
    ],
)
def test_a_malformed_action_names_the_call_and_the_field(
    data: dict[str, object], problem: str
) -> None:
    with pytest.raises(ComputerError, match=rf"computer call 'c9'.*{problem}"):
        _ = ComputerCall("c9", data).parsed_action


class FakeComputer:
    """A screen whose screenshot is the list of actions performed so far."""

    def __init__(self) -> None:
        self.done: list[ComputerAction] = []

    @property
    def screen_size(self) -> ScreenSize:
        return ScreenSize(800, 600)

    def perform(self, action: ComputerAction) -> None:
        if isinstance(action, Type) and action.text == "boom":
            raise ComputerError("the field is read-only")
        self.done.append(action)

    def screenshot(self) -> ScreenCapture:
        return ScreenCapture(repr(self.done).encode())


def turn(*calls: ComputerCall) -> Message:
    return Message(Role.TOOL_CALL, "", "assistant", computer_calls=calls)


CHECK = SafetyCheck("sc1", "sensitive_domain", "A bank.")
CLICK = ComputerCall("c1", {"type": "click", "x": 5, "y": 6})
TYPE = ComputerCall("c2", {"type": "type", "text": "hi"}, "cu_2")
CHECKED = ComputerCall(
    "c3", {"type": "keypress", "keys": ["ENTER"]}, pending_safety_checks=(CHECK,)
)
TASK = Prompt("t/task", "Do {thing}.", computer_use_config={"display_width": 800})


def make_agent(script: list[object], computer: ComputerUse | None, **limits: int) -> Agent:
    return Agent(
        "clicker",
        "You click.",
        "scripted",
        ScriptedCaller(script),  # type: ignore[arg-type]
        clock=FakeClock(),
        computer=computer,
        limits=CallLimits(**limits),  # type: ignore[arg-type]
    )


def test_computer_calls_run_in_order_and_their_screenshots_go_back() -> None:
    computer = FakeComputer()
    agent = make_agent([turn(CLICK, TYPE), "done"], ComputerUse(computer))
    result = agent.call(agent.init_dialog(), TASK, {"thing": "it"})
    assert result.content == "done"
    assert computer.done == [Click(5, 6), Type("hi")]
    outputs = [m for m in result.dialog.messages if m.role is Role.TOOL]
    assert [(m.tool_call_id, m.modality, m.content) for m in outputs] == [
        ("c1", Modality.IMAGE, "Screenshot after click"),
        ("c2", Modality.IMAGE, "Screenshot after type"),
    ]
    assert outputs[1].image is not None
    assert outputs[1].extra == {"computer_call_output": True}
    caller = agent.caller
    assert isinstance(caller, ScriptedCaller)
    assert caller.requests[1].messages[-2:] == tuple(outputs)


def test_the_sync_and_async_drivers_make_the_same_transcript() -> None:
    def run(use_async: bool) -> list[object]:
        computer = FakeComputer()
        agent = make_agent([turn(CLICK), turn(TYPE), "done"], ComputerUse(computer))
        dialog = agent.init_dialog()
        if use_async:
            result = asyncio.run(agent.acall(dialog, TASK, {"thing": "it"}))
        else:
            result = agent.call(dialog, TASK, {"thing": "it"})
        return [message_to_data(m) for m in result.dialog.messages]

    assert run(False) == run(True)


def test_a_failed_action_still_answers_with_the_screen() -> None:
    computer = FakeComputer()
    boom = ComputerCall("c1", {"type": "type", "text": "boom"})
    agent = make_agent([turn(boom), "gave up"], ComputerUse(computer))
    result = agent.call(agent.init_dialog(), TASK, {"thing": "it"})
    [output] = [m for m in result.dialog.messages if m.role is Role.TOOL]
    assert output.content == "Error: the field is read-only" and output.image is not None


def test_a_safety_check_refuses_its_call_unless_approved() -> None:
    computer = FakeComputer()
    agent = make_agent([turn(CLICK, CHECKED), "done"], ComputerUse(computer))
    with pytest.raises(ComputerSafetyRefusedError, match=r"'c3'.*sensitive_domain") as info:
        agent.call(agent.init_dialog(), TASK, {"thing": "it"})
    assert computer.done == [Click(5, 6)]  # the checked call never ran
    assert info.value.checks == (CHECK,) and info.value.dialog is not None

    seen: list[SafetyCheck] = []
    approving = ComputerUse(computer, lambda call, check: seen.append(check) or True)
    agent = make_agent([turn(CHECKED), "done"], approving)
    result = agent.call(agent.init_dialog(), TASK, {"thing": "it"})
    assert seen == [CHECK]
    [output] = [m for m in result.dialog.messages if m.role is Role.TOOL]
    assert output.extra["acknowledged_safety_checks"] == [
        {"id": "sc1", "code": "sensitive_domain", "message": "A bank."}
    ]


def test_the_step_limit_ends_the_call_before_running_more() -> None:
    computer = FakeComputer()
    agent = make_agent(
        [turn(CLICK), turn(TYPE, CLICK), "done"], ComputerUse(computer), max_computer_steps=2
    )
    with pytest.raises(ComputerStepLimitError, match=r"action number 3.*max_computer_steps=2"):
        agent.call(agent.init_dialog(), TASK, {"thing": "it"})
    assert computer.done == [Click(5, 6)]


def test_computer_calls_without_a_computer_say_how_to_give_one() -> None:
    agent = make_agent([turn(CLICK)], None)
    with pytest.raises(ConfigError, match=r"agent 'clicker'.*has no computer.*ComputerUse"):
        agent.call(agent.init_dialog(), TASK, {"thing": "it"})


def test_an_oversized_screenshot_is_refused_with_the_cap() -> None:
    agent = make_agent([turn(CLICK)], ComputerUse(FakeComputer(), max_screenshot_bytes=5))
    with pytest.raises(ComputerError, match=r"max_screenshot_bytes=5"):
        agent.call(agent.init_dialog(), TASK, {"thing": "it"})


def test_the_computer_phase_accepts_only_its_event() -> None:
    assert ACCEPTS[Phase.USING_COMPUTER] == (ComputerFinished,)


def test_a_computer_turn_survives_serialization() -> None:
    message = turn(CLICK, CHECKED)
    assert message_from_data(message_to_data(message)) == message
