"""The prompts of __project_name__ (discovery registers every Prompt in this folder)."""

from lllm_domain import Prompt, tool


@tool
def add(a: float, b: float) -> float:
    """Add two numbers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


system = Prompt(
    "__project_name__/system",
    "You are __project_name__, a careful assistant. Use the tools you are given for arithmetic "
    "instead of computing in your head.",
)

task = Prompt(
    "__project_name__/task",
    "{task}\n\nUse the add tool for any sum. When you are done, give the final answer as "
    "<answer>...</answer>.",
    functions=(add,),
    xml_tags=("answer",),  # every listed tag is required
)
