"""The computer-use loop's glue: what a driver does with one :class:`ComputerCall`.

The agent call (:mod:`lllm_domain.agent_call`) emits a ``RunComputer`` action with the calls of
one reply; its drivers run each call here: ask the approval callback about every pending safety
check (a check nobody approved refuses the call), perform the action, capture the screen and
check the capture's size. The outcome is a :class:`ComputerOutput`, which the machine turns into
the dialog's tool message (the screenshot that goes back to the model, and into the log).
"""

from __future__ import annotations

from collections.abc import Callable

from attrs import define, field

from lllm_domain.computer.actions import ScreenCapture
from lllm_domain.computer.call import ComputerCall, SafetyCheck
from lllm_domain.computer.port import AsyncComputer, Computer
from lllm_domain.errors import ComputerError

SafetyApproval = Callable[[ComputerCall, SafetyCheck], bool]
"""``approve(call, check)``: whether ``call`` may run despite ``check``. Asked once per check."""

DEFAULT_MAX_SCREENSHOT_BYTES = 1_000_000
"""The size cap of one logged screenshot (encoded), by default."""


def refuse_all(call: ComputerCall, check: SafetyCheck) -> bool:
    """The default approval callback: every safety check refuses its call."""
    return False


@define(frozen=True, slots=True)
class ComputerUse:
    """What an agent needs to use a computer: the computer and its policy.

    ``computer`` is a :class:`Computer` and/or :class:`AsyncComputer`; ``approve`` decides pending
    safety checks (refused unless it says yes); ``max_screenshot_bytes`` caps each screenshot
    sent and logged (a computer must deliver captures under it, e.g. as JPEG).
    The step limit is :attr:`~lllm_domain.limits.CallLimits.max_computer_steps`.
    """

    computer: Computer | AsyncComputer = field(repr=False)
    approve: SafetyApproval = field(default=refuse_all, repr=False)
    max_screenshot_bytes: int = DEFAULT_MAX_SCREENSHOT_BYTES


@define(frozen=True, slots=True)
class ComputerOutput:
    """The outcome of one computer call: the screenshot after it (``None`` when it was refused),
    the checks the callback approved or refused, and the action's error, if it failed (the
    screenshot then shows the unchanged screen)."""

    call_id: str
    capture: ScreenCapture | None
    acknowledged: tuple[SafetyCheck, ...] = ()
    refused: tuple[SafetyCheck, ...] = ()
    error: str | None = None


def _review(use: ComputerUse, call: ComputerCall) -> tuple[list[SafetyCheck], list[SafetyCheck]]:
    approved: list[SafetyCheck] = []
    refused: list[SafetyCheck] = []
    for check in call.pending_safety_checks:
        (approved if use.approve(call, check) is True else refused).append(check)
    return approved, refused


def _checked(use: ComputerUse, capture: ScreenCapture) -> ScreenCapture:
    if len(capture.data) > use.max_screenshot_bytes:
        raise ComputerError(
            f"the computer's screenshot is {len(capture.data)} bytes, over "
            f"ComputerUse.max_screenshot_bytes={use.max_screenshot_bytes}; give the computer a "
            "smaller screen or a lower screenshot cap of its own, or raise the limit"
        )
    return capture


def run_computer_call(use: ComputerUse, call: ComputerCall) -> ComputerOutput:
    """Run ``call`` on ``use.computer`` with blocking I/O."""
    computer = use.computer
    if not isinstance(computer, Computer):
        raise ComputerError(
            f"{type(computer).__name__} has no blocking perform()/screenshot(); use "
            "Agent.acall with it, or give the agent a blocking Computer"
        )
    approved, refused = _review(use, call)
    if refused:
        return ComputerOutput(call.call_id, None, tuple(approved), tuple(refused))
    error = None
    try:
        computer.perform(call.parsed_action)
    except ComputerError as exc:
        error = str(exc)
    return ComputerOutput(
        call.call_id, _checked(use, computer.screenshot()), tuple(approved), (), error
    )


async def arun_computer_call(use: ComputerUse, call: ComputerCall) -> ComputerOutput:
    """Run ``call`` on ``use.computer`` with async I/O (a blocking computer runs in a worker
    thread)."""
    computer = use.computer
    if not isinstance(computer, AsyncComputer):
        import asyncio  # not at start-up: ``import lllm_domain`` stays light

        return await asyncio.to_thread(run_computer_call, use, call)
    approved, refused = _review(use, call)
    if refused:
        return ComputerOutput(call.call_id, None, tuple(approved), tuple(refused))
    error = None
    try:
        await computer.aperform(call.parsed_action)
    except ComputerError as exc:
        error = str(exc)
    capture = await computer.ascreenshot()
    return ComputerOutput(call.call_id, _checked(use, capture), tuple(approved), (), error)
