"""Computer use: the actions a model asks for, the :class:`Computer` port that performs them,
and the glue the agent call's drivers use to run one computer call.

An agent with a :class:`ComputerUse` and a prompt with ``computer_use_config`` runs the loop:
each computer call of a reply is performed, and the screenshot after it goes back to the model,
until the model answers in text or :attr:`~lllm_domain.limits.CallLimits.max_computer_steps`
is reached.
"""

from lllm_domain.computer.actions import (
    ACTION_TYPES,
    Click,
    ComputerAction,
    DoubleClick,
    Drag,
    KeyPress,
    Move,
    ScreenCapture,
    Screenshot,
    ScreenSize,
    Scroll,
    Type,
    Wait,
    action_from_data,
)
from lllm_domain.computer.call import ComputerCall, SafetyCheck
from lllm_domain.computer.loop import (
    DEFAULT_MAX_SCREENSHOT_BYTES,
    ComputerOutput,
    ComputerUse,
    SafetyApproval,
    arun_computer_call,
    refuse_all,
    run_computer_call,
)
from lllm_domain.computer.port import AsyncComputer, Computer

__all__ = [
    "ACTION_TYPES",
    "DEFAULT_MAX_SCREENSHOT_BYTES",
    "AsyncComputer",
    "Click",
    "Computer",
    "ComputerAction",
    "ComputerCall",
    "ComputerOutput",
    "ComputerUse",
    "DoubleClick",
    "Drag",
    "KeyPress",
    "Move",
    "SafetyApproval",
    "SafetyCheck",
    "ScreenCapture",
    "ScreenSize",
    "Screenshot",
    "Scroll",
    "Type",
    "Wait",
    "action_from_data",
    "arun_computer_call",
    "refuse_all",
    "run_computer_call",
]
