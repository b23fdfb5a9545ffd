"""What a computer can be asked to do: the input actions and screenshots of computer use.

Each action is a frozen value with the wire form computer-use models speak (``{"type":
"click", "x": 10, "y": 20, "button": "left"}``): :func:`action_from_data` reads one and
:meth:`as_data` writes it back, so a logged session replays exactly. Coordinates are CSS pixels
of the screen (see :class:`ScreenSize`), origin at the top left.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from attrs import asdict, define, field

from lllm_domain.errors import ComputerError


@define(frozen=True, slots=True)
class ScreenSize:
    """The computer's screen (a browser's viewport) in CSS pixels."""

    width: int = 1024
    height: int = 768

    def __attrs_post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise ComputerError(
                f"ScreenSize must be at least 1x1 pixels, not {self.width}x{self.height}"
            )


@define(frozen=True, slots=True)
class ScreenCapture:
    """One screenshot: the encoded image (PNG or JPEG) and its media type."""

    data: bytes = field(repr=lambda d: f"<{len(d)} bytes>")
    mime_type: str = "image/png"


class _Action:
    """Shared behaviour of the action values (their wire ``type`` and plain-data form)."""

    __slots__ = ()
    kind: ClassVar[str]

    def as_data(self) -> dict[str, Any]:
        """The wire form: ``{"type": kind, **fields}``."""
        return {"type": self.kind, **asdict(self, recurse=False)}  # type: ignore[arg-type]


@define(frozen=True, slots=True)
class Screenshot(_Action):
    """Take a screenshot and do nothing else."""

    kind: ClassVar[str] = "screenshot"


@define(frozen=True, slots=True)
class Click(_Action):
    """Click ``button`` (``left``, ``right``, ``middle``, ``back``, ``forward``, ``wheel``) at
    (``x``, ``y``)."""

    kind: ClassVar[str] = "click"
    x: int
    y: int
    button: str = "left"


@define(frozen=True, slots=True)
class DoubleClick(_Action):
    """Double-click the left button at (``x``, ``y``)."""

    kind: ClassVar[str] = "double_click"
    x: int
    y: int


@define(frozen=True, slots=True)
class Move(_Action):
    """Move the pointer to (``x``, ``y``)."""

    kind: ClassVar[str] = "move"
    x: int
    y: int


@define(frozen=True, slots=True)
class Drag(_Action):
    """Press the left button at the first point of ``path``, move through the others, release
    at the last."""

    kind: ClassVar[str] = "drag"
    path: tuple[tuple[int, int], ...]

    def as_data(self) -> dict[str, Any]:
        """The wire form (the path as ``[{"x": .., "y": ..}, ...]``)."""
        return {"type": self.kind, "path": [{"x": x, "y": y} for x, y in self.path]}


@define(frozen=True, slots=True)
class Scroll(_Action):
    """Scroll by (``scroll_x``, ``scroll_y``) pixels with the pointer at (``x``, ``y``)."""

    kind: ClassVar[str] = "scroll"
    x: int
    y: int
    scroll_x: int = 0
    scroll_y: int = 0


@define(frozen=True, slots=True)
class Type(_Action):
    """Type ``text`` into whatever has the focus."""

    kind: ClassVar[str] = "type"
    text: str


@define(frozen=True, slots=True)
class KeyPress(_Action):
    """Press ``keys`` together (a chord such as ``("CTRL", "A")``, or one key: ``("ENTER",)``)."""

    kind: ClassVar[str] = "keypress"
    keys: tuple[str, ...]


@define(frozen=True, slots=True)
class Wait(_Action):
    """Wait ``ms`` milliseconds (for a page to settle)."""

    kind: ClassVar[str] = "wait"
    ms: int = 1000


ComputerAction = Screenshot | Click | DoubleClick | Move | Drag | Scroll | Type | KeyPress | Wait
"""Every action a :class:`~lllm_domain.computer.port.Computer` performs."""

ACTION_TYPES: Mapping[str, type[ComputerAction]] = {
    cls.kind: cls
    for cls in (Screenshot, Click, DoubleClick, Move, Drag, Scroll, Type, KeyPress, Wait)
}
"""Action classes by their wire ``type``."""


def _int(data: Mapping[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ComputerError(
            f"{where}: {key!r} must be a number of pixels, not {value!r}; the model sent a "
            "malformed computer action"
        )
    return int(value)


def action_from_data(data: Mapping[str, Any], where: str = "computer action") -> ComputerAction:
    """The action in wire form ``data``; an unknown type or a malformed field raises
    :class:`~lllm_domain.errors.ComputerError` naming ``where`` and the field."""
    kind = data.get("type")
    if kind not in ACTION_TYPES:
        known = ", ".join(ACTION_TYPES)
        raise ComputerError(f"{where}: unknown action type {kind!r}; known types: {known}")
    if kind == "screenshot":
        return Screenshot()
    if kind == "click":
        return Click(
            _int(data, "x", where), _int(data, "y", where), str(data.get("button", "left"))
        )
    if kind == "double_click":
        return DoubleClick(_int(data, "x", where), _int(data, "y", where))
    if kind == "move":
        return Move(_int(data, "x", where), _int(data, "y", where))
    if kind == "drag":
        points = data.get("path")
        if not isinstance(points, list | tuple) or not points:
            raise ComputerError(f"{where}: 'path' must be a non-empty list of points")
        return Drag(tuple((_int(p, "x", where), _int(p, "y", where)) for p in points))
    if kind == "scroll":
        return Scroll(
            _int(data, "x", where),
            _int(data, "y", where),
            _int(data, "scroll_x", where, 0),
            _int(data, "scroll_y", where, 0),
        )
    if kind == "type":
        text = data.get("text")
        if not isinstance(text, str):
            raise ComputerError(f"{where}: 'text' must be a string, not {text!r}")
        return Type(text)
    if kind == "keypress":
        keys = data.get("keys")
        if not isinstance(keys, list | tuple) or not all(isinstance(k, str) for k in keys):
            raise ComputerError(f"{where}: 'keys' must be a list of key names, not {keys!r}")
        return KeyPress(tuple(keys))
    return Wait(_int(data, "ms", where, 1000))
