"""MCP tool results as LLLM tool results: the text the model reads and the value kept on the
call (:class:`MCPToolResult`, with images, structured content and resources)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from attrs import define
from lllm_domain.message import Image
from lllm_domain.tool_output import ToolOutput
from mcp_types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)


@define(frozen=True, slots=True)
class MCPToolResult(ToolOutput):
    """What an MCP tool returned: ``text`` is what the model reads; ``images`` the images it
    sent (base64, as :class:`~lllm_domain.message.Image`), which the agent call sends to the
    model with the tool's answer (it is a :class:`~lllm_domain.tool_output.ToolOutput`);
    ``structured`` its structured content (any JSON value, or ``None``); ``is_error`` whether
    the server flagged the result as an error."""

    structured: Any = None
    is_error: bool = False


def _size(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return len(data)


def convert_result(result: CallToolResult) -> MCPToolResult:
    """``result`` as an :class:`MCPToolResult`.

    Text blocks are joined by blank lines; an image, audio clip or binary resource is named in
    the text (kind, MIME type, size) and an image is kept in ``images`` (so it reaches the
    model); an embedded text resource contributes its text; a resource link its URI.
    Structured content with no text beside it is shown as JSON.
    """
    parts: list[str] = []
    images: list[Image] = []
    for block in result.content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        elif isinstance(block, ImageContent):
            images.append(Image(block.data, block.mime_type))
            parts.append(f"[image {block.mime_type}, {_size(block.data)} bytes]")
        elif isinstance(block, AudioContent):
            parts.append(f"[audio {block.mime_type}, {_size(block.data)} bytes]")
        elif isinstance(block, EmbeddedResource):
            resource = block.resource
            if isinstance(resource, TextResourceContents):
                parts.append(resource.text)
            elif isinstance(resource, BlobResourceContents):
                kind = resource.mime_type or "binary"
                parts.append(f"[resource {resource.uri}: {kind}, {_size(resource.blob)} bytes]")
        elif isinstance(block, ResourceLink):
            parts.append(f"[resource link {block.uri}{f': {block.name}' if block.name else ''}]")
    structured = result.structured_content
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, default=str))
    return MCPToolResult(
        text="\n\n".join(parts),
        images=tuple(images),
        structured=structured,
        is_error=result.is_error,
    )


def result_text(result: Any) -> str:
    """The processor of MCP tools: the text of an :class:`MCPToolResult`."""
    return result.text if isinstance(result, MCPToolResult) else str(result)
