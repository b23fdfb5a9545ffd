"""The replayer: a caller that answers from a recording, matching each request to a recorded one
structurally (agent and conversation), following dialog lineage where several fit, and naming
where the run diverged when none does."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from lllm_domain.errors import LLMAPIError, ReplayDivergenceError, ReplayError
from lllm_domain.log_writer import writer_for
from lllm_domain.message import Message
from lllm_domain.ports import LogStore
from lllm_domain.recording.fingerprint import Fingerprint, Remembered, Written, fingerprints
from lllm_domain.recording.recorded import (
    CALLS,
    Entry,
    RecordedCall,
    read_entries,
)
from lllm_domain.request import LLMRequest

_SNIPPET = 80


class ReplayCaller:
    """Answers requests from a recording; sync and async. Never contacts a model.

    Build it with :meth:`from_store` (a recorded session) or from :class:`RecordedCall` s.
    A recorded API error is raised again, so retries replay too. A streaming request gets the
    recorded deltas (or the whole reply as one delta when the recording was not streamed).
    """

    def __init__(self, calls: Sequence[RecordedCall], *, session: str = "") -> None:
        self._setup([Entry.of(c) for c in calls], session)

    def _setup(self, entries: list[Entry], session: str) -> None:
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
        self._seen = Remembered()  # each live dialog's last request, to fingerprint it once

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
        replay._setup(read_entries([r.data for r in records], session), session)
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
        found = fingerprints(request.messages, earlier, whole=True)[0]
        return tuple(found)  # type: ignore[arg-type]  # whole: every slot is filled

    def _match(self, request: LLMRequest) -> Entry:
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
            Written("", request.messages, recorded.conversation.whole()),
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
