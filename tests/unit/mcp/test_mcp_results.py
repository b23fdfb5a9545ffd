"""MCP tool results as the text the model reads and the value kept on the call."""

from __future__ import annotations

from lllm_adapters.mcp import convert_result
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

PNG = "iVBORw0KGgo="  # 8 bytes


def test_text_blocks_are_joined() -> None:
    result = convert_result(CallToolResult(content=[TextContent(text="a"), TextContent(text="b")]))
    assert result.text == "a\n\nb"
    assert not result.is_error and result.images == ()


def test_images_are_kept_and_named_in_the_text() -> None:
    result = convert_result(CallToolResult(content=[ImageContent(data=PNG, mime_type="image/png")]))
    assert result.text == "[image image/png, 8 bytes]"
    assert result.images[0].base64 == PNG
    assert result.images[0].mime_type == "image/png"


def test_every_image_of_a_result_is_kept_for_the_model_as_a_tool_output() -> None:
    from lllm_domain.function import default_processor
    from lllm_domain.tool_output import ToolOutput, images_of

    result = convert_result(
        CallToolResult(
            content=[
                TextContent(text="two views"),
                ImageContent(data=PNG, mime_type="image/png"),
                ImageContent(data="/9j/4A==", mime_type="image/jpeg"),
            ]
        )
    )
    assert isinstance(result, ToolOutput)
    assert [(i.base64, i.mime_type) for i in images_of(result)] == [
        (PNG, "image/png"),
        ("/9j/4A==", "image/jpeg"),
    ]
    assert default_processor(result) == result.text


def test_structured_content_without_text_is_shown_as_json() -> None:
    result = convert_result(CallToolResult(content=[], structured_content={"n": 1}))
    assert result.text == '{"n": 1}'
    assert result.structured == {"n": 1}


def test_resources_audio_and_links() -> None:
    result = convert_result(
        CallToolResult(
            content=[
                EmbeddedResource(resource=TextResourceContents(uri="memo://1", text="note")),
                EmbeddedResource(
                    resource=BlobResourceContents(uri="file://x", blob=PNG, mime_type="app/x")
                ),
                AudioContent(data=PNG, mime_type="audio/wav"),
                ResourceLink(uri="file://doc", name="doc"),
            ]
        )
    )
    assert result.text.split("\n\n") == [
        "note",
        "[resource file://x: app/x, 8 bytes]",
        "[audio audio/wav, 8 bytes]",
        "[resource link file://doc: doc]",
    ]


def test_an_error_result_keeps_its_flag() -> None:
    result = convert_result(CallToolResult(content=[TextContent(text="no")], is_error=True))
    assert result.is_error and result.text == "no"


def test_schema_refs_are_inlined_and_recursion_is_cut() -> None:
    from lllm_adapters.mcp.client import inline_refs

    schema = {
        "type": "object",
        "properties": {
            "point": {"$ref": "#/$defs/Point", "description": "where"},
            "tree": {"$ref": "#/$defs/Tree"},
        },
        "$defs": {
            "Point": {"type": "object", "properties": {"x": {"type": "number"}}},
            "Tree": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Tree"}}},
        },
    }
    properties = inline_refs(schema["properties"], schema)
    assert properties["point"] == {
        "type": "object",
        "properties": {"x": {"type": "number"}},
        "description": "where",
    }
    assert "$ref" not in repr(properties)
