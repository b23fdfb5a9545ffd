"""The __project_name__ system, run offline against LLLM's scripted model."""

from __future__ import annotations

import importlib
from pathlib import Path

from lllm_adapters.config import discover, load_system_config
from lllm_domain import PromptRegistry, Role, Runtime, build_system
from lllm_domain.testing import ScriptedCaller, call, tool_calls

ROOT = Path(__file__).resolve().parents[1]


def test_the_system_uses_the_tool_recovers_from_a_bad_answer_and_answers() -> None:
    prompts = PromptRegistry()
    discover(ROOT / "lllm.toml", prompts=prompts, enabled=True)
    importlib.import_module("system.system")  # registers the project's system type

    config = load_system_config(ROOT / "config" / "__project_name__" / "default.yaml")
    model = ScriptedCaller([tool_calls(call("add", a=2, b=3)), "It is 5.", "<answer>5.0</answer>"])
    runtime = Runtime(callers=lambda agent_config: model, prompts=prompts)

    report = build_system(config, runtime=runtime).call("What is 2 + 3?")

    assert report == {"answer": "5.0", "tool_calls": ["add"]}
    assert model.requests[1].messages[-1].role is Role.TOOL
    assert "answer" in model.requests[2].messages[-1].content  # the exception handler's retry
