"""An agent with a tool and an XML-tagged answer, driven by LLLM's scripted model (offline).

Run: uv run python examples/quickstart.py
"""

from lllm_domain import Agent, Prompt, tool
from lllm_domain.testing import ScriptedCaller, call, tool_calls


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


system = Prompt("calc/system", "You are a careful calculator. Use the add tool.")
task = Prompt(
    "calc/task",
    "What is {a} + {b}? Answer as <answer>NUMBER</answer>.",
    functions=(add,),
    required_xml_tags=("answer",),
)

# The scripted model stands in for a real one: it asks for the tool, answers without the tag
# (the framework's exception handler asks it to fix that), then answers properly.
model = ScriptedCaller([tool_calls(call("add", a=2, b=3)), "It is 5.", "<answer>5</answer>"])
agent = Agent("calculator", system, model="scripted", caller=model)

dialog = agent.init_dialog()
result = agent.call(dialog, task, {"a": 2, "b": 3})

print("[offline demo: replies come from LLLM's scripted model, not a real LLM]")
print(dialog.overview())
print("answer:", result.parsed["xml_tags"]["answer"][0])
print("tool calls:", [(c.name, dict(c.arguments), c.result) for c in result.function_calls])
print("failed attempts kept on the final message:", [m.content for m in result.message.attempts])
