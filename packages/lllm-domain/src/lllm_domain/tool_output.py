"""What a tool returns when the model should see images as well as text.

A tool's result is normally turned into text (its ``processor``) and the model reads that text.
A tool that also has pictures to show (a chart, a page it rendered, an MCP tool's images) returns
a :class:`ToolOutput`: its ``text`` is what the model reads and its ``images`` are sent with the
tool's answer, every one of them, in the form each provider's API takes (see ``docs/mcp.md``)::

    import base64

    from lllm_domain import Image, ToolOutput, tool

    @tool
    def plot(series: list[float]) -> ToolOutput:
        png = render_png(series)  # your code: the chart as PNG bytes
        return ToolOutput("the chart of the series", (Image(base64.b64encode(png).decode()),))

The MCP client's results (``lllm_adapters.mcp.MCPToolResult``) are ToolOutputs, so an MCP
tool's images reach the model the same way.
"""

from __future__ import annotations

from attrs import define

from lllm_domain.message import Image


@define(frozen=True, slots=True)
class ToolOutput:
    """A tool's result that carries images: ``text`` is what the model reads (the tool message's
    content) and ``images`` (base64 :class:`~lllm_domain.message.Image` values, any number) are
    sent to the model with it.

    Return one from a tool function; the default processor reads its ``text``. The agent call
    puts the images on the tool message it appends (``Message.images``), and each LLM caller
    sends them as its API expects. A call that repeats an earlier one with the same arguments
    is not run again and does not send the images again (the model already has them).
    Subclass it to keep more of a result on the call (``FunctionCall.result``), as the MCP
    client does.
    """

    text: str
    images: tuple[Image, ...] = ()


def images_of(result: object) -> tuple[Image, ...]:
    """The images a tool's ``result`` carries: those of a :class:`ToolOutput`, else none."""
    return result.images if isinstance(result, ToolOutput) else ()
