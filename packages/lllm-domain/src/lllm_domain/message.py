"""Messages, the tool calls they carry, and their roles and modalities."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, cast

from attrs import define, evolve, field

from lllm_domain.computer.call import ComputerCall
from lllm_domain.usage import Cost, Usage

EMPTY_MAPPING: Mapping[str, Any] = MappingProxyType({})
"""One shared empty mapping, so messages without metadata cost no extra memory."""


class Role(enum.StrEnum):
    """Who a message speaks as, in API terms."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"
    """The result of a tool call."""
    TOOL_CALL = "tool_call"
    """An assistant turn that asks for tools."""


class Modality(enum.StrEnum):
    """What kind of content a message holds."""

    TEXT = "text"
    IMAGE = "image"
    FUNCTION_CALL = "function_call"


TOOL_ERROR_EXTRA: Mapping[str, Any] = MappingProxyType({"is_error": True})
"""The ``extra`` of a tool-result message whose call failed: providers that mark failed tool
results (Anthropic's ``is_error``) read it; the others ignore it."""


class Creator:
    """Well-known values of :attr:`Message.creator` (agent names are used as they are)."""

    SYSTEM = "system"
    USER = "user"
    FUNCTION = "function"
    EXCEPTION = "exception"


MAX_ARGUMENT_DEPTH = 128
"""How many levels of objects and arrays a tool call's arguments may nest (the arguments object
itself is level 1). Deeper arguments are never handed to a tool: the call carries
:data:`ARGUMENTS_TOO_DEEP` as its ``arguments_error`` and the model reads an error result, so no
code on the tool path (comparison, validation, logging, repr) recurses over hostile input."""

ARGUMENTS_TOO_DEEP = f"they nest deeper than {MAX_ARGUMENT_DEPTH} levels"
"""The ``arguments_error`` of a call whose arguments nest deeper than :data:`MAX_ARGUMENT_DEPTH`."""


_SCALARS = (str, int, float, type(None))


def nests_deeper_than(value: object, limit: int) -> bool:
    """Whether JSON-like ``value`` (mappings, lists, tuples) nests more than ``limit`` levels.

    Iterative, so a value of any depth is checked safely; linear in its size and stops as soon
    as the limit is passed. Scalars are skipped without a push, so flat arguments (the usual
    case) cost a few type checks.
    """
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[object]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        elif isinstance(item, Mapping):
            children = cast("Mapping[str, object]", item).values()
        else:
            continue
        if depth > limit:
            return True
        for child in children:
            if not isinstance(child, _SCALARS):
                stack.append((child, depth + 1))
    return False


@define(frozen=True, slots=True)
class FunctionCall:
    """One tool call the model asked for, and (once run) its outcome.

    ``id`` is the provider's tool-call id. ``arguments_error`` is set when the model's arguments
    could not be decoded, or when they nest deeper than :data:`MAX_ARGUMENT_DEPTH` (then
    ``arguments`` is emptied, whoever built the call); ``raw_arguments`` keeps the text exactly
    as the model sent it.
    ``repeated_of`` is the id of the earlier, identical call whose result this one reused: such
    a call was not run again (count real executions as the calls where it is ``None``).
    """

    id: str
    name: str
    arguments: Mapping[str, Any] = EMPTY_MAPPING
    raw_arguments: str | None = None
    arguments_error: str | None = None
    result: Any = None
    result_text: str | None = None
    error: str | None = None
    repeated_of: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.arguments and nests_deeper_than(self.arguments, MAX_ARGUMENT_DEPTH):
            object.__setattr__(self, "arguments", EMPTY_MAPPING)
            if self.arguments_error is None:
                object.__setattr__(self, "arguments_error", ARGUMENTS_TOO_DEEP)

    @property
    def success(self) -> bool:
        """True once the call ran and did not fail."""
        return self.error is None and self.result_text is not None

    def is_repeated(self, other: FunctionCall) -> bool:
        """Same function with the same arguments (ids do not matter). Calls whose arguments
        could not be decoded are compared by their raw text."""
        if self.name != other.name:
            return False
        if self.arguments_error is not None or other.arguments_error is not None:
            return self.raw_arguments == other.raw_arguments
        return dict(self.arguments) == dict(other.arguments)

    def with_result(self, result: Any, result_text: str) -> FunctionCall:
        """A copy carrying a successful result."""
        return self._with_outcome(result, result_text, None)

    def with_error(self, error: str) -> FunctionCall:
        """A copy carrying an error the model can read."""
        return self._with_outcome(None, f"Error: {error}", error)

    def _with_outcome(self, result: Any, text: str, error: str | None) -> FunctionCall:
        # Built directly rather than with attrs.evolve: every tool call makes one of these, and
        # evolve's per-call introspection costs more than the rest of the copy.
        return FunctionCall(
            self.id,
            self.name,
            self.arguments,
            self.raw_arguments,
            self.arguments_error,
            result,
            text,
            error,
            self.repeated_of,
        )


@define(frozen=True, slots=True)
class TopLogprob:
    """One candidate token and its log-probability."""

    token: str
    logprob: float


@define(frozen=True, slots=True)
class TokenLogprob:
    """The chosen token at one position, with the most likely alternatives."""

    token: str
    logprob: float
    top: tuple[TopLogprob, ...] = ()


@define(frozen=True, slots=True)
class Image:
    """An image sent to the model, as base64 data."""

    base64: str
    mime_type: str = "image/png"
    detail: str | None = None


@define(frozen=True, slots=True)
class Message:
    """One immutable turn of a dialog.

    Messages are shared between forks of a dialog, never copied. ``parsed`` holds what the
    prompt's parser extracted; ``errors`` the parse errors this reply raised; ``attempts`` the
    failed replies that preceded this one in the same turn (pruned from the dialog but kept here).
    A turn that asks for computer actions has ``role`` ``TOOL_CALL`` and ``computer_calls``.
    """

    role: Role
    content: str
    creator: str
    modality: Modality = Modality.TEXT
    function_calls: tuple[FunctionCall, ...] = ()
    tool_call_id: str | None = None
    image: Image | None = None
    parsed: Any = None
    logprobs: tuple[TokenLogprob, ...] = ()
    model: str | None = None
    usage: Usage | None = None
    cost: Cost | None = None
    model_args: Mapping[str, Any] = field(default=EMPTY_MAPPING)
    extra: Mapping[str, Any] = field(default=EMPTY_MAPPING)
    errors: tuple[str, ...] = ()
    attempts: tuple[Message, ...] = ()
    prompt_path: str | None = None
    """The registry path of the prompt this message was rendered from, if any."""
    computer_calls: tuple[ComputerCall, ...] = ()
    """The computer actions this assistant turn asks for (computer use); each is answered by a
    tool message holding the screenshot after it."""
    images: tuple[Image, ...] = ()
    """Further images, in order: those a tool returned (a tool message answering a call whose
    result was a :class:`~lllm_domain.tool_output.ToolOutput`), or several images of one user
    turn. ``image`` keeps the single image of :meth:`Dialog.send_image` and of a computer
    screenshot; :attr:`all_images` is both."""

    @property
    def is_function_call(self) -> bool:
        """Whether this assistant turn asks for tools."""
        return bool(self.function_calls)

    @property
    def all_images(self) -> tuple[Image, ...]:
        """Every image this message carries: ``image`` (if any) first, then ``images``."""
        if self.image is None:
            return self.images
        return (self.image, *self.images)

    @property
    def total_cost(self) -> Cost:
        """This message's cost plus that of the failed attempts it carries."""
        total = self.cost or Cost()
        for attempt in self.attempts:
            total = total + attempt.total_cost
        return total

    @property
    def total_usage(self) -> Usage:
        """This message's usage plus that of the failed attempts it carries."""
        total = self.usage or Usage()
        for attempt in self.attempts:
            total = total + attempt.total_usage
        return total

    def replace(self, **changes: Any) -> Message:
        """A copy with ``changes`` applied (messages are immutable)."""
        return evolve(self, **changes)


def system_message(content: str) -> Message:
    """A system message."""
    return Message(Role.SYSTEM, content, Creator.SYSTEM)


def user_message(content: str, creator: str = Creator.USER) -> Message:
    """A user message."""
    return Message(Role.USER, content, creator)


def assistant_message(content: str, creator: str = "assistant", **kwargs: Any) -> Message:
    """An assistant message."""
    return Message(Role.ASSISTANT, content, creator, **kwargs)
