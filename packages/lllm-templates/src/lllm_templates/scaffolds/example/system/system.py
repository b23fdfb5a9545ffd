"""The __project_name__ example: an async system with two agents.

1. The analyst works on the task (XML-tagged answer, a tool, streamed text).
2. The summarizer turns the analysis into a structured Summary (JSON of a declared shape).
Sessions are named after the experiment id of the config, so runs group by experiment.
"""

from __future__ import annotations

from typing import Any

from lllm_domain import AsyncSystem
from lllm_domain.request import DeltaCallback


class ExampleSystem(AsyncSystem):
    """Analyze a task, then summarize the analysis."""

    system_type = "__project_name__"

    async def arun(self, task: str, on_delta: DeltaCallback | None = None, **kwargs: Any) -> Any:
        """Run both agents; ``on_delta`` receives the analyst's streamed text."""
        prompts = self.runtime.prompts
        session = self.session or "default"
        experiment = self.config.extra.get("experiment_id", "none")
        self.stream.markdown(f"**Experiment** {experiment} · **task** {task}")

        analyst = self.agents["analyst"]
        with self.stream.spinner("analyst is working"):
            analysis = await analyst.acall(
                analyst.init_dialog(session=session),
                prompts.get("__project_name__/analyze"),
                {"task": task},
                on_delta=on_delta,
            )
        if on_delta is not None:
            on_delta("\n")  # end the streamed line before the next event
        tags = analysis.parsed["xml_tags"]
        confident = bool(analysis.parsed.get("signal_tags", {}).get("CONFIDENT"))
        self.stream.progress(0.5, "analysis done")

        summarizer = self.agents["summarizer"]
        summary = await summarizer.acall(
            summarizer.init_dialog(session=session),
            prompts.get("__project_name__/summarize"),
            {"analysis": tags["analysis"][0], "answer": tags["answer"][0]},
        )
        self.stream.progress(1.0, "summary done")
        return {
            "experiment_id": experiment,
            "answer": tags["answer"][0].strip(),
            "confident": confident,
            "title": summary.parsed.title,
            "key_points": list(summary.parsed.key_points),
            "tools_used": [fc.name for fc in analysis.function_calls],
        }
