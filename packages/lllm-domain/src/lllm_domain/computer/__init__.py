"""Computer use: the actions a model asks for, the :class:`Computer` port that performs them,
and the glue the agent call's drivers use to run one computer call.

An agent with a :class:`ComputerUse` and a prompt with ``computer_use_config`` runs the loop:
each computer call of a reply is performed, and the screenshot after it goes back to the model,
until the model answers in text or :attr:`~lllm_domain.limits.CallLimits.max_computer_steps`
is reached.
"""

import importlib
from typing import TYPE_CHECKING, Any

from lllm_domain.computer.call import ComputerCall, SafetyCheck

if TYPE_CHECKING:
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
    from lllm_domain.computer.loop import (
        DEFAULT_MAX_SCREENSHOT_BYTES,
        ComputerOutput,
        ComputerUse,
        SafetyApproval,
        arun_computer_call,
        refuse_all,
        run_computer_call,
    )
    from lllm_domain.computer.port import (
        AsyncComputer,
        Computer,
    )

# Loaded on first use: the messages need only the calls, so `import lllm_domain` stays light.
_LAZY = {
    "ACTION_TYPES": "lllm_domain.computer.actions",
    "Click": "lllm_domain.computer.actions",
    "ComputerAction": "lllm_domain.computer.actions",
    "DoubleClick": "lllm_domain.computer.actions",
    "Drag": "lllm_domain.computer.actions",
    "KeyPress": "lllm_domain.computer.actions",
    "Move": "lllm_domain.computer.actions",
    "ScreenCapture": "lllm_domain.computer.actions",
    "Screenshot": "lllm_domain.computer.actions",
    "ScreenSize": "lllm_domain.computer.actions",
    "Scroll": "lllm_domain.computer.actions",
    "Type": "lllm_domain.computer.actions",
    "Wait": "lllm_domain.computer.actions",
    "action_from_data": "lllm_domain.computer.actions",
    "DEFAULT_MAX_SCREENSHOT_BYTES": "lllm_domain.computer.loop",
    "ComputerOutput": "lllm_domain.computer.loop",
    "ComputerUse": "lllm_domain.computer.loop",
    "SafetyApproval": "lllm_domain.computer.loop",
    "arun_computer_call": "lllm_domain.computer.loop",
    "refuse_all": "lllm_domain.computer.loop",
    "run_computer_call": "lllm_domain.computer.loop",
    "AsyncComputer": "lllm_domain.computer.port",
    "Computer": "lllm_domain.computer.port",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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
