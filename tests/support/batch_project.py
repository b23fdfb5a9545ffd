"""A small project for batch tests and the batch benchmark: an async system whose one agent
answers with the help of one tool (``get_weather``), and the fake OpenAI server's side of it
(a tool call first, then an answer naming the city)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tests.support.config_projects import write_files
from tests.support.openai_server import RecordedRequest, Reply, chat_completion, error_reply

FILES = {
    "lllm.toml": """
        [project]
        name = "weather"
        system_module = "system"
        config = "config/default.yaml"

        [prompts]
        folders = ["prompts"]
        """,
    "prompts/main.py": """
        from lllm_domain import Prompt, tool


        @tool
        def get_weather(city: str) -> str:
            \"\"\"The weather in a city.

            Args:
                city: The city.
            \"\"\"
            if city == "Atlantis":
                raise RuntimeError("no weather station in Atlantis")
            return f"sunny in {city}"


        system = Prompt("weather/system", "You report the weather.")
        task = Prompt(
            "weather/task",
            "What is the weather in {city}? Answer as <answer>...</answer>.",
            functions=(get_weather,),
            xml_tags=("answer",),
        )
        """,
    "system.py": """
        from typing import Any

        from lllm_domain import AsyncSystem


        class WeatherSystem(AsyncSystem):
            system_type = "weather"

            async def arun(self, task: str, city: str = "Paris", **kwargs: Any) -> Any:
                agent = self.agents["reporter"]
                dialog = agent.init_dialog(session=self.session or "default")
                prompt = self.runtime.prompts.get("weather/task")
                result = await agent.acall(dialog, prompt, {"city": city})
                return {"answer": result.parsed["xml_tags"]["answer"][0], "city": city}
        """,
    "config/default.yaml": """
        name: weather
        system_type: weather
        log_type: sqlite
        log_dir: logs
        max_exception_retry: 1
        max_interrupt_times: 2
        max_llm_recall: 0
        retry:
          max_attempts: 2
          max_total_wait: 1
        agent_configs:
          reporter:
            model_name: gpt-4o-mini
            system_prompt_path: weather/system
        """,
}


def write_project(root: Path) -> Path:
    """Write the weather project under ``root``; return its folder."""
    return write_files(root, FILES)


def write_rows(path: Path, rows: list[Mapping[str, Any]]) -> Path:
    """Write ``rows`` as JSONL."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _city(body: Mapping[str, Any]) -> str:
    text: Any = ""
    for message in body["messages"]:
        if message.get("role") == "user":
            text = message.get("content") or ""
            break
    if isinstance(text, list):
        text = " ".join(part.get("text", "") for part in text)
    return str(text).split("weather in ", 1)[-1].split("?", 1)[0]


def weather_handler(
    fault: Callable[[RecordedRequest, str], Reply | None] | None = None,
) -> Callable[[RecordedRequest], Reply | Mapping[str, Any]]:
    """The server side: a ``get_weather`` call, then ``<answer>`` with the tool's result.
    ``fault(request, city)`` may answer instead (a 429, a 5xx) by returning a reply."""

    def handler(request: RecordedRequest) -> Reply | Mapping[str, Any]:
        body = request.json
        city = _city(body)
        if fault is not None:
            faulty = fault(request, city)
            if faulty is not None:
                return faulty
        last = body["messages"][-1]
        if last["role"] == "tool":
            return chat_completion(f"<answer>{last['content']}</answer>", usage=(100, 20, 0, 0))
        args = json.dumps({"city": city})
        return chat_completion(
            None, tool_calls=[("call_1", "get_weather", args)], usage=(80, 10, 0, 0)
        )

    return handler


def bad_request(message: str = "scripted bad request") -> Reply:
    """A 400 that no retry helps."""
    return error_reply(400, message, code="invalid_request_error")
