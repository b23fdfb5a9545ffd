"""The summarizer's prompts: structured output (a JSON object of a declared shape)."""

from attrs import define
from lllm_domain import Prompt


@define(frozen=True)
class Summary:
    """What the summarizer returns."""

    title: str
    key_points: list[str]
    confidence: float


summarizer_system = Prompt(
    "__project_name__/summarizer_system",
    "You summarize analyses into a short title, key points and a confidence between 0 and 1.",
)

summarize = Prompt(
    "__project_name__/summarize",
    "Summarize this analysis as JSON with title, key_points and confidence.\n\n"
    "<analysis>{analysis}</analysis>\n<answer>{answer}</answer>",
    format=Summary,
)
