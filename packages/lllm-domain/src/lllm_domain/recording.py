"""Record once, replay forever: a caller wrapper that records every model request and reply, and
a caller that answers from such a recording — offline, deterministically, with no model.

Run your system once with :class:`RecordingCaller` around a real caller; each request and its
reply (or API error, and the streamed deltas) go to the ``calls`` collection of the log store.
Later, :meth:`ReplayCaller.from_store` rebuilds the run without any model: each request is matched
to a recorded one *structurally* — same agent, and the same conversation (role, content, tool
calls of every message) — never by dialog id, which is random per run. Where several recorded
calls fit (the same question asked twice), the dialog lineage decides: a live dialog keeps
following the recorded dialog it was first matched to, a fork follows its parent's recording, and
otherwise the recorded order wins. A request that matches nothing raises
:class:`ReplayDivergenceError`, naming the agent, turn and message where the run diverged, with
the expected and the actual text side by side.

A recording grows linearly with the turns, not with their square: each request records only
what it adds to an earlier recorded request (the dialog's previous one, its parent's for a fork,
or the agent's last one) — that call's id, how many messages it shares, then the new messages.
Loading rebuilds every request's whole conversation, and replay compares it exactly, message by
message. Recordings made before this format (whole conversations, no ids) load as they are.
"""

from __future__ import annotations

import itertools
import operator
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

from attrs import define, evolve

from lllm_domain.errors import LLMAPIError

# Defined with the other errors; importable from here too, where they are raised.
from lllm_domain.errors import ReplayDivergenceError as ReplayDivergenceError  # noqa: PLC0414
from lllm_domain.errors import ReplayError as ReplayError  # noqa: PLC0414
from lllm_domain.log_writer import writer_for
from lllm_domain.message import Message
from lllm_domain.ports import (
    AsyncLLMCaller,
    IdGenerator,
    LLMCaller,
    LogEntry,
    LogStore,
    uuid_ids,
)
from lllm_domain.request import LLMRequest

CALLS = "calls"
"""The log collection recorded model calls go to."""

_SNIPPET = 80
_REMEMBERED = 1024
"""How many dialogs' last request a recorder (or replayer) keeps to share prefixes with."""
_REMEMBERED_MESSAGES = 100_000
"""How many messages those requests may hold in all."""


def fingerprint(message: Message) -> dict[str, Any]:
    """What must be equal for a request message to match a recorded one: role, content, tool
    calls (id, name, arguments), tool-call id and image. As JSON-normalised plain data."""
    data: dict[str, Any] = {"role": message.role.value, "content": message.content}
    if message.function_calls:
        data["calls"] = [[c.id, c.name, dict(c.arguments)] for c in message.function_calls]
    if message.tool_call_id is not None:
        data["tool_call_id"] = message.tool_call_id
    if message.image is not None:
        data["image"] = [message.image.mime_type, message.image.base64]
    import msgspec

    normalised: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(data))
    return normalised


Fingerprint = Mapping[str, Any]
"""A request message as recorded: see :func:`fingerprint`."""


@define(frozen=True, slots=True)
class _Written:
    """A request recorded (or replayed): its call id, its messages and, when kept, their
    fingerprints (the replayer keeps the recorded ones, the recorder computes them anew)."""

    call_id: str
    messages: tuple[Message, ...]
    fingerprints: tuple[Fingerprint, ...] | None = None


class _Remembered:
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
        self._items: OrderedDict[tuple[str, ...], _Written] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> _Written | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[str, ...], item: _Written) -> None:
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
    earlier: _Written, messages: Sequence[Message], found: list[Fingerprint | None]
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


def _fingerprints(
    messages: Sequence[Message], earlier: Sequence[_Written | None], *, whole: bool
) -> tuple[list[Fingerprint | None], int, _Written | None]:
    """The fingerprints of ``messages`` (all of them if ``whole``, else at least those after
    the shared prefix), how many messages the first of ``earlier`` sharing any shares, and
    that request. Messages shared by identity are not fingerprinted again."""
    found: list[Fingerprint | None] = [None] * len(messages)
    base: _Written | None = None
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


class RecordingCaller:
    """Wraps a caller and records each request/reply pair to the ``calls`` collection.

    ``session`` overrides the session name recorded under (by default each request's own
    session). Nothing secret is recorded: only the conversation (role, content, tool calls),
    request identity (agent, dialog, turn, model, prompt) and the reply — never model args,
    headers or keys — and the log store redacts every record as usual.

    Each record holds only what its request adds to an earlier request recorded in the same
    session: ``prefix`` (``[call_id, n]``: the first ``n`` messages of that call's request, or
    ``None``) and ``messages``, the fingerprints of the messages after it. The earlier request is
    the same dialog's previous one, else its parent dialog's (a fork), else the agent's last one
    (dialogs of one agent share at least its system prompt). ``ids`` makes the call ids.
    """

    def __init__(
        self,
        inner: LLMCaller | AsyncLLMCaller,
        store: LogStore,
        session: str | None = None,
        *,
        ids: IdGenerator = uuid_ids,
    ) -> None:
        self.inner = inner
        self.store = store
        self.session = session
        self.ids = ids
        self._written = _Remembered()

    def __repr__(self) -> str:
        return f"RecordingCaller({self.inner!r})"

    def flush(self) -> None:
        """Wait until every record handed over so far is stored (agent calls logging to the
        same store do this for you when they end)."""
        writer_for(self.store).flush()

    def call(self, request: LLMRequest) -> Message:
        """Call the inner caller and record the outcome."""
        if not isinstance(self.inner, LLMCaller):
            raise ReplayError(
                f"RecordingCaller: the wrapped {type(self.inner).__name__} has no sync call(); "
                "use acall() or wrap a sync caller"
            )
        live, deltas = self._teed(request)
        try:
            reply = self.inner.call(live)
        except LLMAPIError as error:
            self._record(request, None, error, deltas)
            raise
        self._record(request, reply, None, deltas)
        return reply

    async def acall(self, request: LLMRequest) -> Message:
        """Await the inner caller and record the outcome."""
        if not isinstance(self.inner, AsyncLLMCaller):
            raise ReplayError(
                f"RecordingCaller: the wrapped {type(self.inner).__name__} has no async acall(); "
                "use call() or wrap an async caller"
            )
        live, deltas = self._teed(request)
        try:
            reply = await self.inner.acall(live)
        except LLMAPIError as error:
            self._record(request, None, error, deltas)
            raise
        self._record(request, reply, None, deltas)
        return reply

    @staticmethod
    def _teed(request: LLMRequest) -> tuple[LLMRequest, list[str] | None]:
        user_callback = request.on_delta
        if user_callback is None:
            return request, None
        deltas: list[str] = []

        def tee(delta: str) -> None:
            deltas.append(delta)
            user_callback(delta)

        return evolve(request, on_delta=tee), deltas

    def _record(
        self,
        request: LLMRequest,
        reply: Message | None,
        error: LLMAPIError | None,
        deltas: list[str] | None,
    ) -> None:
        from lllm_domain.serialization import message_to_data

        session = self.session if self.session is not None else request.session
        keys = [("dialog", session, request.dialog_id)]
        if request.parent_dialog_id:
            keys.append(("dialog", session, request.parent_dialog_id))
        keys.append(("agent", session, request.agent_name))
        messages = request.messages
        # The first earlier request sharing anything wins: the dialog's own previous request
        # shares the most, and stopping there keeps the work per request to the new messages.
        found, shared, base = _fingerprints(
            messages, [self._written.get(k) for k in keys], whole=False
        )
        call_id = self.ids()
        record = LogEntry(
            CALLS,
            session,
            {
                "call_id": call_id,
                "agent_name": request.agent_name,
                "dialog_id": request.dialog_id,
                "parent_dialog_id": request.parent_dialog_id,
                "turn": request.turn,
                "model": request.model,
                "prompt_path": request.prompt_path,
                "prefix": [base.call_id, shared] if base is not None else None,
                "messages": found[shared:],
                "reply": message_to_data(reply) if reply is not None else None,
                "error": error.describe() if error is not None else None,
                "deltas": deltas,
            },
        )
        # Handed to the store's writer (no I/O here, nothing blocks the event loop): it writes
        # records in the order handed over, so a later record never refers to a call stored
        # after it, and an agent call logging to the same store waits for it before returning.
        writer_for(self.store).submit([record])
        written = _Written(call_id, messages)
        self._written.put(("dialog", session, request.dialog_id), written)
        self._written.put(("agent", session, request.agent_name), written)


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


class _Entry:
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
    def of(cls, call: RecordedCall) -> _Entry:
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


def _entries(records: Sequence[Mapping[str, Any]], session: str) -> list[_Entry]:
    """The records of a recording with each conversation rebuilt (see :func:`recorded_calls`)."""
    latest: dict[str, int] = {}  # call id -> the latest record so far with it
    entries: list[_Entry] = []
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
        entries.append(_Entry(data, RecordedConversation(data.get("messages", ()), base, shared)))
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
    return [entry.recorded() for entry in _entries(records, session)]


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


class ReplayCaller:
    """Answers requests from a recording; sync and async. Never contacts a model.

    Build it with :meth:`from_store` (a recorded session) or from :class:`RecordedCall` s.
    A recorded API error is raised again, so retries replay too. A streaming request gets the
    recorded deltas (or the whole reply as one delta when the recording was not streamed).
    """

    def __init__(self, calls: Sequence[RecordedCall], *, session: str = "") -> None:
        self._setup([_Entry.of(c) for c in calls], session)

    def _setup(self, entries: list[_Entry], session: str) -> None:
        self.session = session
        self._entries = entries
        self._calls: tuple[RecordedCall, ...] | None = None
        self._used = [False] * len(entries)
        self._dialogs: dict[str, str] = {}  # live dialog id -> recorded dialog id
        self._lock = threading.Lock()
        # Calls by what an equal request must have: agent, length and last message. Only a
        # shortcut to the few calls worth comparing; every match is still compared in full.
        self._shapes: dict[tuple[Any, ...], list[int]] = {}
        for i, entry in enumerate(entries):
            self._shapes.setdefault(_shape(entry.agent_name, entry.conversation), []).append(i)
        self._seen = _Remembered()  # each live dialog's last request, to fingerprint it once

    def __repr__(self) -> str:
        return f"ReplayCaller(session={self.session!r}, calls={len(self._entries)})"

    @classmethod
    def from_store(cls, store: LogStore, session: str) -> ReplayCaller:
        """A replay caller for the calls recorded in ``session`` of ``store``. Each reply is
        decoded when it is first replayed (or :attr:`calls` is read)."""
        writer_for(store).flush()  # records of this process still on their way count
        records = store.read(CALLS, session)
        if not records:
            raise ReplayError(
                f"session {session!r} has no recorded calls in {store!r}; record a run with "
                "RecordingCaller(caller, store) first (known sessions: "
                f"{', '.join(repr(s) for s in store.sessions()[:10]) or 'none'})"
            )
        replay = cls.__new__(cls)
        replay._setup(_entries([r.data for r in records], session), session)
        return replay

    @property
    def calls(self) -> tuple[RecordedCall, ...]:
        """The recorded calls, in recorded order."""
        if self._calls is None:
            self._calls = tuple(entry.recorded() for entry in self._entries)
        return self._calls

    @property
    def remaining(self) -> int:
        """Recorded calls not replayed yet."""
        return self._used.count(False)

    def call(self, request: LLMRequest) -> Message:
        """The recorded reply to ``request`` (or its recorded API error)."""
        recorded = self._match(request).recorded()
        if recorded.error is not None or recorded.reply is None:
            raise _api_error(recorded.error or {})
        reply = recorded.reply
        if request.on_delta is not None:
            deltas = recorded.deltas if recorded.deltas is not None else (reply.content,)
            for delta in deltas:
                if delta:
                    request.on_delta(delta)
        return reply

    async def acall(self, request: LLMRequest) -> Message:
        """The async form of :meth:`call`."""
        return self.call(request)

    # -- matching ----------------------------------------------------------------------------

    def _fingerprints(self, request: LLMRequest) -> tuple[Fingerprint, ...]:
        """The request's message fingerprints, reusing those of its dialog's (or parent's)
        previous request for the very same message objects."""
        earlier = [self._seen.get(("live", request.dialog_id))]
        if request.parent_dialog_id is not None:
            earlier.append(self._seen.get(("live", request.parent_dialog_id)))
        found = _fingerprints(request.messages, earlier, whole=True)[0]
        return tuple(found)  # type: ignore[arg-type]  # whole: every slot is filled

    def _match(self, request: LLMRequest) -> _Entry:
        wanted = self._fingerprints(request)
        shape = _shape(request.agent_name, wanted)
        entries = self._entries
        with self._lock:
            exact = [
                i
                for i in self._shapes.get(shape, ())
                if not self._used[i] and entries[i].conversation == wanted
            ]
            if not exact:
                candidates = [
                    i
                    for i, e in enumerate(entries)
                    if not self._used[i] and e.agent_name == request.agent_name
                ]
                raise self._divergence(request, wanted, candidates)
            chosen = self._prefer(request, exact)
            self._used[chosen] = True
            recorded = entries[chosen]
            self._dialogs.setdefault(request.dialog_id, recorded.dialog_id)
            if request.parent_dialog_id and recorded.parent:
                self._dialogs.setdefault(request.parent_dialog_id, recorded.parent)
        # Remember the recorded fingerprints (equal to the request's, just compared): the next
        # request of this dialog then holds the very same objects, compared at C speed.
        self._seen.put(
            ("live", request.dialog_id),
            _Written("", request.messages, recorded.conversation.whole()),
        )
        return recorded

    def _prefer(self, request: LLMRequest, exact: list[int]) -> int:
        same_dialog = self._dialogs.get(request.dialog_id)
        same_parent = self._dialogs.get(request.parent_dialog_id or "")
        claimed = set(self._dialogs.values())
        for test in (
            lambda e: same_dialog is not None and e.dialog_id == same_dialog,
            lambda e: same_parent is not None and e.parent == same_parent,
            lambda e: e.dialog_id not in claimed,
        ):
            for i in exact:
                if test(self._entries[i]):
                    return i
        return exact[0]

    def _divergence(
        self, request: LLMRequest, wanted: Sequence[Fingerprint], candidates: list[int]
    ) -> ReplayDivergenceError:
        agent = request.agent_name
        where = (
            f"agent {agent!r}, turn {request.turn} (its request after {request.turn} "
            f"message(s)), prompt {request.prompt_path!r}"
        )
        if not candidates:
            recorded = [e for e in self._entries if e.agent_name == agent]
            if not recorded:
                agents = sorted({e.agent_name for e in self._entries})
                text = (
                    f"replay diverged ({where}): the recording has no calls for agent {agent!r} "
                    f"(recorded agents: {', '.join(map(repr, agents))})"
                )
            else:
                text = (
                    f"replay diverged ({where}): agent {agent!r} made more requests than "
                    f"recorded (all {len(recorded)} recorded calls were already replayed)"
                )
            return ReplayDivergenceError(text, agent_name=agent, turn=request.turn)
        mapped = self._dialogs.get(request.dialog_id)

        def closeness(i: int) -> tuple[int, int, int]:
            entry = self._entries[i]
            return (
                _common_prefix(entry.conversation, wanted),
                int(entry.dialog_id == mapped),
                -abs(entry.turn - request.turn),
            )

        best = self._entries[max(candidates, key=closeness)]
        conversation = best.conversation
        index = _common_prefix(conversation, wanted)
        expected = conversation[index] if index < len(conversation) else None
        got = wanted[index] if index < len(wanted) else None
        expected_text, got_text = _describe(expected, got)
        role = (got or expected or {}).get("role", "?")
        text = (
            f"replay diverged ({where}): request message {index} (message #{index + 1}, "
            f"{role}) differs from the closest recorded call (recorded turn {best.turn}).\n"
            f"  expected: {expected_text}\n"
            f"  got:      {got_text}\n"
            "The run no longer matches the recording (a prompt, tool result or code path "
            "changed); record the session again if the change is intended."
        )
        return ReplayDivergenceError(
            text,
            agent_name=agent,
            turn=request.turn,
            index=index,
            expected=expected_text,
            got=got_text,
        )


def _shape(agent_name: str, messages: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
    """What a request equal to ``messages`` must share with it: agent, length, and the role
    and content of the last message."""
    if not messages:
        return (agent_name, 0)
    last = messages[-1]
    content = last.get("content")
    return (
        agent_name,
        len(messages),
        repr(last.get("role")),
        content if isinstance(content, str) else repr(content),
    )


def _common_prefix(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if dict(x) != y:
            break
        n += 1
    return n


def _describe(expected: Mapping[str, Any] | None, got: Mapping[str, Any] | None) -> tuple[str, str]:
    if expected is None or got is None:
        end = "(end of conversation)"
        return (
            _show(expected) if expected is not None else end,
            _show(got) if got is not None else end,
        )
    a, b = str(expected.get("content", "")), str(got.get("content", ""))
    if expected.get("role") != got.get("role") or a == b:
        return _show(expected), _show(got)
    # Show both texts around the first differing character.
    at = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    start = max(0, at - _SNIPPET // 2)
    prefix = "…" if start else ""
    role = expected.get("role")
    return (
        f"{role}: {prefix}{_cut(a[start:])!r} (from character {at})",
        f"{role}: {prefix}{_cut(b[start:])!r}",
    )


def _show(fp: Mapping[str, Any]) -> str:
    extra = ""
    if fp.get("calls"):
        extra = " calls " + ", ".join(f"{c[1]}({c[2]})" for c in fp["calls"])
    return f"{fp.get('role')}: {_cut(str(fp.get('content', '')))!r}{extra}"


def _cut(text: str) -> str:
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "…"


def _api_error(data: Mapping[str, Any]) -> LLMAPIError:
    return LLMAPIError(
        str(data.get("message", "recorded API error")),
        retryable=bool(data.get("retryable", False)),
        status=data.get("status"),
        retry_after=data.get("retry_after"),
        code=data.get("code"),
    )
