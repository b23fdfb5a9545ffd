"""The analyst's prompts: XML-tagged answers, a signal tag and a tool."""

from lllm_domain import Prompt, tool


@tool
def word_count(text: str) -> int:
    """Count the words of a text.

    Args:
        text: The text to count.
    """
    return len(text.split())


analyst_system = Prompt(
    "__project_name__/analyst_system",
    "You are the analyst of __project_name__. Think step by step, use tools when they help, "
    "and always answer in the XML format you are asked for.",
)

analyze = Prompt(
    "__project_name__/analyze",
    "Task: {task}\n\n"
    "Work through the task. Reply with <analysis>your reasoning</analysis> and "
    "<answer>the answer</answer>. Add <CONFIDENT> if you are sure of the answer.",
    functions=(word_count,),
    xml_tags=("analysis", "answer"),  # every listed tag is required
    signal_tags=("CONFIDENT",),
)
