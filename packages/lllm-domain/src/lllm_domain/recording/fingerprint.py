"""How recorded and live requests are compared: each message's fingerprint, and the last request
of recently seen dialogs, remembered so each message is fingerprinted once."""

from __future__ import annotations

import itertools
import operator
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import define

from lllm_domain.message import Message

_REMEMBERED = 1024
"""How many dialogs' last request a recorder (or replayer) keeps to share prefixes with."""
_REMEMBERED_MESSAGES = 100_000
"""How many messages those requests may hold in all."""


def fingerprint(message: Message) -> dict[str, Any]:
    """What must be equal for a request message to match a recorded one: role, content, tool
    calls (id, name, arguments), tool-call id and images. As JSON-normalised plain data (a
    message without ``images`` has the same fingerprint as before they existed)."""
    data: dict[str, Any] = {"role": message.role.value, "content": message.content}
    if message.function_calls:
        data["calls"] = [[c.id, c.name, dict(c.arguments)] for c in message.function_calls]
    if message.tool_call_id is not None:
        data["tool_call_id"] = message.tool_call_id
    if message.image is not None:
        data["image"] = [message.image.mime_type, message.image.base64]
    if message.images:
        data["images"] = [[i.mime_type, i.base64] for i in message.images]
    import msgspec

    normalised: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(data))
    return normalised


Fingerprint = Mapping[str, Any]
"""A request message as recorded: see :func:`fingerprint`."""


@define(frozen=True, slots=True)
class Written:
    """A request recorded (or replayed): its call id, its messages and, when kept, their
    fingerprints (the replayer keeps the recorded ones, the recorder computes them anew)."""

    call_id: str
    messages: tuple[Message, ...]
    fingerprints: tuple[Fingerprint, ...] | None = None


class Remembered:
    """The last request of each recently seen key, least recently used forgotten first, at
    most ``entries`` of them and ``messages`` messages in all (so finished dialogs are not kept
    alive for long). Thread-safe.

    Remembering a request's ``Message`` objects lets the next request of the same dialog skip
    the very same objects (messages are immutable and shared between a dialog's requests), so
    each message is fingerprinted once, not once per request. A forgotten dialog only costs
    size or time (its next request is recorded or fingerprinted whole), never correctness.
    """

    def __init__(self, entries: int = _REMEMBERED, messages: int = _REMEMBERED_MESSAGES) -> None:
        self._entries = entries
        self._messages = messages
        self._held = 0
        self._items: OrderedDict[tuple[str, ...], Written] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Written | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[str, ...], item: Written) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._held -= len(old.messages)
            self._items[key] = item
            self._held += len(item.messages)
            while len(self._items) > 1 and (
                len(self._items) > self._entries or self._held > self._messages
            ):
                _, dropped = self._items.popitem(last=False)
                self._held -= len(dropped.messages)


def _shared_prefix(
    earlier: Written, messages: Sequence[Message], found: list[Fingerprint | None]
) -> int:
    """How many leading ``messages`` fingerprint like ``earlier``'s; puts in ``found`` (one
    slot per message) the fingerprints it computed, or reused from ``earlier``."""
    theirs, known = earlier.messages, earlier.fingerprints
    limit = min(len(messages), len(theirs))
    # The very same message objects (a dialog shares them) have the same fingerprints: skip
    # them at C speed, then compare fingerprints from the first message that is not shared.
    n = next(
        itertools.compress(
            itertools.count(), map(operator.is_not, messages[:limit], theirs[:limit])
        ),
        limit,
    )
    if known is not None:
        found[:n] = known[:n]
    while n < limit:
        if messages[n] is not theirs[n]:
            own = found[n]
            if own is None:
                own = found[n] = fingerprint(messages[n])
            if own != (known[n] if known is not None else fingerprint(theirs[n])):
                break
        if known is not None:
            found[n] = known[n]
        n += 1
    return n


def fingerprints(
    messages: Sequence[Message], earlier: Sequence[Written | None], *, whole: bool
) -> tuple[list[Fingerprint | None], int, Written | None]:
    """The fingerprints of ``messages`` (all of them if ``whole``, else at least those after
    the shared prefix), how many messages the first of ``earlier`` sharing any shares, and
    that request. Messages shared by identity are not fingerprinted again."""
    found: list[Fingerprint | None] = [None] * len(messages)
    base: Written | None = None
    shared = 0
    for candidate in earlier:
        if candidate is not None:
            shared = _shared_prefix(candidate, messages, found)
            if shared:
                base = candidate
                break
    for i in range(0 if whole else shared, len(messages)):
        if found[i] is None:
            found[i] = fingerprint(messages[i])
    return found, shared, base
