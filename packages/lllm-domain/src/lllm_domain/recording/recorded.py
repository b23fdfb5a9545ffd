"""The recorded format read back: each recorded call with its whole conversation, rebuilt from
what each record adds to an earlier one (recordings made before that format load as they are)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from attrs import define

from lllm_domain.errors import ReplayError
from lllm_domain.message import Message

CALLS = "calls"
"""The log collection recorded model calls go to."""


class RecordedConversation(Sequence[Mapping[str, Any]]):
    """A recorded request's whole conversation (as :func:`fingerprint` s), immutable.

    It shares its first ``shared`` messages with ``base`` (the conversation of the call its
    record extends) and adds ``added``; the whole tuple is built on first use, from ``base``'s
    if that was built, so loading a recording stays linear in its size while the calls replayed
    in order each build theirs at C speed. Equal to any sequence holding equal messages.
    """

    __slots__ = ("_added", "_base", "_length", "_shared", "_whole")

    def __init__(
        self,
        added: Sequence[Mapping[str, Any]] = (),
        base: RecordedConversation | None = None,
        shared: int = 0,
    ) -> None:
        if shared < 0 or shared > (len(base) if base is not None else 0):
            raise ValueError(
                f"a recorded conversation cannot share {shared} messages with a base of "
                f"{len(base) if base is not None else 0}"
            )
        self._added = tuple(added)
        self._base = base if shared else None
        self._shared = shared
        self._length = shared + len(self._added)
        self._whole: tuple[Mapping[str, Any], ...] | None = None if shared else self._added

    def whole(self) -> tuple[Mapping[str, Any], ...]:
        """Every message, as a tuple (built once)."""
        if self._whole is not None:
            return self._whole
        # Walk up the chain to the first built ancestor (or the root), collecting the pieces.
        # A loop, not recursion: a 10 000-turn dialog is a 10 000-long chain.
        pieces = [self._added]
        limit = self._shared
        node = self._base
        while limit > 0 and node is not None:
            if node._whole is not None:
                pieces.append(node._whole[:limit])
                break
            if limit > node._shared:
                pieces.append(node._added[: limit - node._shared])
                limit = node._shared
            node = node._base
        whole = tuple(itertools.chain.from_iterable(reversed(pieces)))
        self._whole = whole
        return whole

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> Mapping[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Mapping[str, Any], ...]: ...

    def __getitem__(self, index: int | slice) -> Mapping[str, Any] | tuple[Mapping[str, Any], ...]:
        if isinstance(index, slice) or self._whole is not None:
            return self.whole()[index]
        at = index + self._length if index < 0 else index
        if not 0 <= at < self._length:
            raise IndexError(f"message {index} of a recorded conversation of {self._length}")
        # One message needs no whole tuple: find the piece of the chain that holds it.
        node = self
        while at < node._shared and node._whole is None:
            assert node._base is not None
            node = node._base
        if node._whole is not None:
            return node._whole[at]
        return node._added[at - node._shared]

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return iter(self.whole())

    def __reversed__(self) -> Iterator[Mapping[str, Any]]:
        backwards: Iterator[Mapping[str, Any]] = reversed(self.whole())
        return backwards

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        """The position of the first message equal to ``value`` (``ValueError`` if none)."""
        return self.whole().index(value, start, stop if stop is not None else self._length)

    def count(self, value: Any) -> int:
        """How many messages equal ``value``."""
        return self.whole().count(value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecordedConversation):
            return self is other or (
                self._length == other._length and self.whole() == other.whole()
            )
        if isinstance(other, tuple | list):
            return self._length == len(other) and self.whole() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # holds dicts, like the tuple it stands for

    def __repr__(self) -> str:
        return f"RecordedConversation({len(self)} messages)"


@define(frozen=True, slots=True)
class RecordedCall:
    """One model call as recorded by :class:`RecordingCaller`; ``messages`` is the request's
    whole conversation (as :func:`fingerprint` s: a :class:`RecordedConversation` when loaded,
    any sequence when built by hand), ``call_id`` its id in the recording (empty in recordings
    made before calls had ids)."""

    agent_name: str
    dialog_id: str
    parent_dialog_id: str | None
    turn: int
    messages: Sequence[Mapping[str, Any]]
    reply: Message | None
    error: Mapping[str, Any] | None
    deltas: tuple[str, ...] | None
    call_id: str = ""

    @classmethod
    def from_data(
        cls, data: Mapping[str, Any], base: RecordedConversation | None = None
    ) -> RecordedCall:
        """A recorded call from its log record. A record with a ``prefix`` holds only the
        messages after it: pass the conversation of the call it names as ``base``
        (:func:`recorded_calls` does this for a whole recording)."""
        prefix: Any = data.get("prefix")
        shared = int(prefix[1]) if prefix else 0
        if shared and base is None:
            raise ReplayError(
                f"recorded call {data.get('call_id')!r} extends call {prefix[0]!r}; read it "
                "with the rest of its recording (recorded_calls or ReplayCaller.from_store)"
            )
        return _call(data, RecordedConversation(data.get("messages", ()), base, shared))


def _call(data: Mapping[str, Any], conversation: RecordedConversation) -> RecordedCall:
    from lllm_domain.serialization import message_from_data

    reply = data.get("reply")
    deltas = data.get("deltas")
    return RecordedCall(
        agent_name=data.get("agent_name", ""),
        dialog_id=data.get("dialog_id", ""),
        parent_dialog_id=data.get("parent_dialog_id"),
        turn=int(data.get("turn", 0)),
        messages=conversation,
        reply=message_from_data(reply) if reply is not None else None,
        error=data.get("error"),
        deltas=tuple(deltas) if deltas is not None else None,
        call_id=str(data.get("call_id") or ""),
    )


class Entry:
    """A recorded call as the replay caller holds it: what matching needs, read at load; the
    :class:`RecordedCall` (its reply decoded) built when first used — a replay decodes each
    reply as it answers, so loading stays a read of the records."""

    __slots__ = ("_call", "_data", "agent_name", "conversation", "dialog_id", "parent", "turn")

    def __init__(
        self,
        data: Mapping[str, Any],
        conversation: RecordedConversation,
        call: RecordedCall | None = None,
    ) -> None:
        self._data = data
        self._call = call
        self.conversation = conversation
        self.agent_name: str = data.get("agent_name", "")
        self.dialog_id: str = data.get("dialog_id", "")
        self.parent: str | None = data.get("parent_dialog_id")
        self.turn = int(data.get("turn", 0))

    @classmethod
    def of(cls, call: RecordedCall) -> Entry:
        messages = call.messages
        if not isinstance(messages, RecordedConversation):
            messages = RecordedConversation(messages)
        data = {
            "agent_name": call.agent_name,
            "dialog_id": call.dialog_id,
            "parent_dialog_id": call.parent_dialog_id,
            "turn": call.turn,
        }
        return cls(data, messages, call)

    def recorded(self) -> RecordedCall:
        if self._call is None:
            # Racing threads at worst decode the same reply twice; either result is equal.
            self._call = _call(self._data, self.conversation)
        return self._call


def read_entries(records: Sequence[Mapping[str, Any]], session: str) -> list[Entry]:
    """The records of a recording with each conversation rebuilt (see :func:`recorded_calls`)."""
    latest: dict[str, int] = {}  # call id -> the latest record so far with it
    entries: list[Entry] = []
    for i, data in enumerate(records):
        base: RecordedConversation | None = None
        shared = 0
        prefix = data.get("prefix")
        if prefix:
            base = entries[_extended(i, prefix, latest, session)].conversation
            shared = prefix[1]
            if shared > len(base):
                raise ReplayError(
                    f"record {i} of {CALLS!r} for session {session!r} shares {shared} "
                    f"messages with recorded call {prefix[0]!r}, which has only {len(base)} "
                    "(the recording is corrupt); record the run again"
                )
        entries.append(Entry(data, RecordedConversation(data.get("messages", ()), base, shared)))
        call_id = data.get("call_id")
        if call_id:
            latest[str(call_id)] = i
    return entries


def recorded_calls(
    records: Sequence[Mapping[str, Any]], *, session: str = ""
) -> list[RecordedCall]:
    """The calls of a recording (the ``calls`` records of one session, in order), each with
    its request's whole conversation, rebuilt from the earlier call its record extends.

    Records without a ``prefix`` (the first of a dialog, or any record of a recording made
    before prefixes) hold their whole conversation and are read as they are. A record extends
    a call recorded before it (a recorder refers only to calls it has written); a prefix naming
    no earlier call, or more messages than that call has, raises :class:`ReplayError`
    (``session`` names the recording in the message).
    """
    return [entry.recorded() for entry in read_entries(records, session)]


def _extended(i: int, prefix: Any, latest: Mapping[str, int], session: str) -> int:
    """The position of the record that record ``i`` extends (its ``prefix`` checked)."""
    here = f"record {i} of {CALLS!r} for session {session!r}"
    if not (
        isinstance(prefix, list | tuple)
        and len(prefix) == 2
        and isinstance(prefix[0], str)
        and isinstance(prefix[1], int)
        and prefix[1] >= 0
    ):
        raise ReplayError(
            f"{here} has a malformed prefix {prefix!r} (expected [call_id, message count]); "
            "the recording is corrupt, record the run again"
        )
    j = latest.get(prefix[0])
    if j is None:
        raise ReplayError(
            f"{here} extends recorded call {prefix[0]!r}, which is not recorded before it in "
            "the session (the recording is incomplete: copied in part, or its earlier records "
            "were lost); record the run again"
        )
    return j
