"""Lossless conversion of domain values to plain data (cattrs) and JSON (msgspec).

Plain data is what log stores keep and what ``Dialog.from_data`` reads back: a reloaded dialog,
tool calls and attempts included, can be sent to the API again.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from lllm_domain.message import FunctionCall, Message

if TYPE_CHECKING:
    import cattrs

    from lllm_domain.dialog import Dialog

T = TypeVar("T")


@cache
def converter() -> cattrs.Converter:
    """The shared converter (built on first use: cattrs is not imported at start-up).

    Defaults are omitted from the output, so a plain text message stays small on disk.
    """
    import cattrs

    conv = cattrs.Converter(omit_if_default=True)
    # StrEnums (Role, Modality) are str subclasses, so cattrs' str hook would pass them through
    # as enum objects, which YAML dumpers and other strict consumers of plain data reject.
    # Registering the mixed-in enum bases wins by MRO over str/int: store the values.
    for base in (enum.StrEnum, enum.IntEnum):
        conv.register_unstructure_hook(base, _enum_value)
    return conv


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def to_data(value: Any) -> Any:
    """Any attrs value (or container of them) as plain data."""
    return converter().unstructure(value)


def structure(data: Any, cls: type[T]) -> T:
    """Build a ``cls`` from plain data."""
    return converter().structure(data, cls)


def message_to_data(message: Message) -> dict[str, Any]:
    """A message as a plain dict."""
    result: dict[str, Any] = converter().unstructure(message, Message)
    return result


def message_from_data(data: Mapping[str, Any]) -> Message:
    """A message from :func:`message_to_data` output."""
    return converter().structure(data, Message)


def function_call_to_data(call: FunctionCall) -> dict[str, Any]:
    """A function call as a plain dict."""
    result: dict[str, Any] = converter().unstructure(call, FunctionCall)
    return result


def function_call_from_data(data: Mapping[str, Any]) -> FunctionCall:
    """A function call from plain data."""
    return converter().structure(data, FunctionCall)


_encoder = msgspec.json.Encoder()


def to_json(value: Any) -> bytes:
    """JSON bytes of a Message, FunctionCall, Dialog, or plain data."""
    from lllm_domain.dialog import Dialog

    if isinstance(value, Dialog):
        data: Any = value.to_data()
    elif isinstance(value, Message):
        data = message_to_data(value)
    elif isinstance(value, FunctionCall):
        data = function_call_to_data(value)
    else:
        data = to_data(value)
    return _encoder.encode(data)


def from_json(raw: bytes | str) -> Any:
    """Plain data from JSON bytes or text."""
    return msgspec.json.decode(raw)


def message_from_json(raw: bytes | str) -> Message:
    """A message from JSON."""
    return message_from_data(from_json(raw))


def dialog_from_json(raw: bytes | str, **kwargs: Any) -> Dialog:
    """A dialog from JSON (keyword arguments go to :meth:`Dialog.from_data`)."""
    from lllm_domain.dialog import Dialog

    return Dialog.from_data(from_json(raw), **kwargs)
