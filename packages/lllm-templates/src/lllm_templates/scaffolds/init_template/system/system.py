"""The __project_name__ system: one agent that answers a task, using a calculator tool.

`lllm run "What is 17 + 25?"` builds it from config/__project_name__/default.yaml and calls it.
From Python: `build_system(config, runtime=runtime).call("What is 17 + 25?")`.

Proxies listed in the config's `activate_proxies` reach the system as `self.runtime.tools`
(`lllm run` opens them); their endpoints are offered to the agent as tools next to `add`.
"""

from __future__ import annotations

from typing import Any

from lllm_domain import Function, System
from lllm_domain.ports import ToolRuntime
from lllm_domain.request import DeltaCallback


def proxy_tools(tools: ToolRuntime | None) -> tuple[Function, ...]:
    """The activated proxy endpoints as agent tools (none when no proxy is activated).

    A tool runtime lists its endpoints as Functions (JSON schemas from the proxy
    declarations; calling one calls the API).
    """
    return tuple(tools.functions()) if tools is not None else ()


class ProjectSystem(System):
    """Answers a task with the `assistant` agent and returns its answer."""

    system_type = "__project_name__"

    def run(self, task: str, on_delta: DeltaCallback | None = None, **kwargs: Any) -> Any:
        """Ask the assistant; ``on_delta`` receives streamed text when given."""
        agent = self.agents["assistant"]
        dialog = agent.init_dialog(session=self.session or "default")
        prompt = self.runtime.prompts.get("__project_name__/task")
        prompt = prompt.with_functions(*proxy_tools(self.runtime.tools))
        self.stream.markdown(f"**Task:** {task}")
        result = agent.call(dialog, prompt, {"task": task}, on_delta=on_delta)
        answer = result.parsed["xml_tags"]["answer"][0].strip()
        for fc in result.function_calls:
            self.stream.write(f"tool {fc.name}({dict(fc.arguments)}) -> {fc.result_text}")
        self.stream.write(f"Answer: {answer}")
        return {"answer": answer, "tool_calls": [fc.name for fc in result.function_calls]}
