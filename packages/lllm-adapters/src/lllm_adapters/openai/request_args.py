"""Request pieces both OpenAI APIs share: checked model arguments, images, output schemas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lllm_domain.errors import ConfigError
from lllm_domain.function import attrs_json_schema
from lllm_domain.message import Image
from lllm_domain.model_card import ModelCard


def checked_args(card: ModelCard, model_args: Mapping[str, Any]) -> dict[str, Any]:
    """The model arguments, checked against the card before any request is sent.

    Reasoning models only accept the default temperature, so a configured temperature is
    forced to 1 rather than failing the call.
    """
    if not model_args:
        return {}
    card.check_args(model_args)
    args = dict(model_args)
    if card.is_reasoning and "temperature" in args:
        args["temperature"] = 1
    return args


def image_url(image: Image) -> str:
    """The data URL of a base64 image."""
    return f"data:{image.mime_type};base64,{image.base64}"


def output_schema(output_format: Any) -> tuple[str, dict[str, Any], bool]:
    """``(name, schema, strict)`` for a structured-output format: an attrs class, a pydantic
    model (anything with ``model_json_schema()``) or a JSON schema mapping (strict when it
    forbids additional properties, as OpenAI's strict mode requires)."""
    if isinstance(output_format, type) and hasattr(output_format, "__attrs_attrs__"):
        return output_format.__name__, attrs_json_schema(output_format), True
    model_schema = getattr(output_format, "model_json_schema", None)
    if isinstance(output_format, type) and callable(model_schema):
        # A pydantic model: its schema as it gives it; not strict, since pydantic schemas allow
        # optional fields and extra keys that OpenAI's strict mode refuses. The reply is
        # validated by the model class when it is parsed.
        return output_format.__name__[:64], dict(model_schema()), False
    if isinstance(output_format, Mapping):
        schema = dict(output_format)
        name = str(schema.pop("title", None) or "output")
        name = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:64]
        return name, schema, schema.get("additionalProperties") is False
    raise ConfigError(
        f"cannot request structured output for format {output_format!r}: give the prompt's "
        "format as an attrs class, a pydantic model or a JSON-schema mapping"
    )


def require_feature(card: ModelCard, feature: str, what: str) -> None:
    """Fail before the request when the card does not advertise ``feature``."""
    if not card.supports(feature):
        raise ConfigError(
            f"model {card.name!r} does not support {what} (its card lacks the {feature!r} "
            "feature); pick a model that does, or add the feature to its model card"
        )
