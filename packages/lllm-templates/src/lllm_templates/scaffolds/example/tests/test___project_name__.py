"""The __project_name__ example system, run offline against LLLM's scripted model."""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path

from lllm_adapters.config import discover, load_system_config
from lllm_domain import PromptRegistry, Runtime, build_system
from lllm_domain.system import AsyncSystem
from lllm_domain.testing import ScriptedCaller, call, tool_calls

ROOT = Path(__file__).resolve().parents[1]


def test_the_analyst_and_the_summarizer_produce_a_structured_report() -> None:
    prompts = PromptRegistry()
    discover(ROOT / "lllm.toml", prompts=prompts, enabled=True)
    importlib.import_module("system.system")  # registers the project's system type

    config = load_system_config(ROOT / "config" / "__project_name__" / "default.yaml")
    model = ScriptedCaller(
        [
            tool_calls(call("word_count", text="two words")),
            "<analysis>counted</analysis><answer>2</answer><CONFIDENT>",
            "not json",  # the summarizer's first reply is malformed: the framework retries
            json.dumps({"title": "Two", "key_points": ["two words"], "confidence": 1.0}),
        ]
    )
    runtime = Runtime(callers=lambda agent_config: model, prompts=prompts)
    system = build_system(config, runtime=runtime)
    assert isinstance(system, AsyncSystem)

    deltas: list[str] = []
    report = asyncio.run(system.acall("two words", on_delta=deltas.append))

    assert report["answer"] == "2"
    assert report["confident"] is True
    assert report["title"] == "Two"
    assert report["tools_used"] == ["word_count"]
    assert report["experiment_id"] == config.extra["experiment_id"]
    assert "".join(deltas).startswith("<analysis>")
    assert len(model.requests) == 4
