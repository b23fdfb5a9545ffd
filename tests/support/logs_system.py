"""A small two-agent system used by the record/replay tests."""

from __future__ import annotations

from typing import Any

from lllm_domain.config import AgentConfig, SystemConfig
from lllm_domain.function import tool
from lllm_domain.ports import Frontend, LLMCaller, LogStore
from lllm_domain.prompt import Prompt
from lllm_domain.registry import PromptRegistry
from lllm_domain.system import Runtime, System
from lllm_domain.testing import FakeClock, ScriptedCaller, api_error, call, tool_calls


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


def prompts(
    task_text: str = "Question: {question}. Answer as <answer>X</answer>.",
) -> PromptRegistry:
    """The system's prompts (``task_text`` lets a test change the task prompt)."""
    registry = PromptRegistry()
    registry.register("research/system", Prompt("research/system", "You research carefully."))
    registry.register("research/writer", Prompt("research/writer", "You write short reports."))
    registry.register(
        "research/task",
        Prompt("research/task", task_text, functions=(add,), required_xml_tags=("answer",)),
    )
    registry.register(
        "research/check",
        Prompt("research/check", "Double-check: {answer}", required_xml_tags=("answer",)),
    )
    registry.register(
        "research/report",
        Prompt("research/report", "Write a report on: {facts}", required_xml_tags=("report",)),
    )
    return registry


CONFIG = SystemConfig(
    name="research",
    agent_configs={
        "researcher": AgentConfig("gpt-test", "research/system"),
        "writer": AgentConfig("gpt-test-mini", "research/writer"),
    },
    max_llm_recall=1,
)


def script() -> ScriptedCaller:
    """The model's replies, in the order the system asks for them."""
    return ScriptedCaller(
        [
            tool_calls(call("add", a=2, b=3)),
            "It is 5.",  # missing <answer>: the exception handler asks again
            "<answer>5</answer>",
            api_error(503),  # transient: retried
            "<report>The answer is five.</report>",
            "<answer>5, checked</answer>",
        ]
    )


class ResearchSystem(System, register=False):
    """Researches a question with a tool, writes a streamed report, then double-checks on a
    fork of the research dialog."""

    def run(self, task: str, **kwargs: Any) -> dict[str, Any]:
        session = self.session or "default"
        registry = self.runtime.prompts
        self.stream.write("researching", task)
        researcher, writer = self.agents["researcher"], self.agents["writer"]
        research = researcher.init_dialog(session=session)
        found = researcher.call(research, registry.get("research/task"), {"question": task})
        answer = found.parsed["xml_tags"]["answer"][0]
        deltas: list[str] = []
        report_dialog = writer.init_dialog(session=session)
        with self.stream.spinner("writing"):
            report = writer.call(
                report_dialog,
                registry.get("research/report"),
                {"facts": answer},
                on_delta=deltas.append,
            )
        check_dialog = research.fork()
        checked = researcher.call(check_dialog, registry.get("research/check"), {"answer": answer})
        self.stream.markdown("**done**")
        return {
            "answer": answer,
            "report": report.parsed["xml_tags"]["report"][0],
            "checked": checked.parsed["xml_tags"]["answer"][0],
            "deltas": deltas,
            "dialogs": [research, report_dialog, check_dialog],
        }


def build(
    caller: LLMCaller, store: LogStore, registry: PromptRegistry, frontend: Frontend
) -> ResearchSystem:
    """The system wired to ``caller`` and ``store``."""
    runtime = Runtime(
        callers=lambda config: caller,
        prompts=registry,
        log_store=store,
        clock=FakeClock(),
        frontend=frontend,
    )
    return ResearchSystem(CONFIG, runtime=runtime)
