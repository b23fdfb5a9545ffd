"""What the agent call asks an LLM caller to do."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from attrs import define, field

from lllm_domain.function import Function, MCPServer
from lllm_domain.message import EMPTY_MAPPING, Message

DeltaCallback = Callable[[str], None]
"""Receives each streamed text delta."""


@define(frozen=True, slots=True)
class LLMRequest:
    """One model request: the conversation so far plus what the current prompt offers.

    ``tools`` is empty when tools are withheld (after the last allowed interrupt).
    ``agent_name``, ``dialog_id``, ``parent_dialog_id`` and ``turn`` identify the request so a
    recording can be matched against it on replay. ``on_delta`` asks a streaming caller to pass
    each text delta on as it arrives.
    """

    messages: tuple[Message, ...]
    model: str
    model_args: Mapping[str, Any] = field(default=EMPTY_MAPPING)
    tools: tuple[Function, ...] = ()
    mcp_servers: tuple[MCPServer, ...] = ()
    output_format: Any = None
    allow_web_search: bool = False
    computer_use: Mapping[str, Any] | None = None
    api_type: str = "completion"
    agent_name: str = ""
    session: str = ""
    dialog_id: str = ""
    parent_dialog_id: str | None = None
    prompt_path: str | None = None
    turn: int = 0
    """How many messages the dialog had when this request was made."""
    on_delta: DeltaCallback | None = field(default=None, eq=False, repr=False)

    @property
    def stream(self) -> bool:
        """Whether the caller should stream the reply."""
        return self.on_delta is not None
