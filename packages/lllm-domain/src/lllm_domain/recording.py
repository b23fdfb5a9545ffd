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
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from attrs import define, evolve

from lllm_domain.errors import LLLMError, LLMAPIError
from lllm_domain.message import Message
from lllm_domain.ports import AsyncLLMCaller, LLMCaller, LogStore
from lllm_domain.request import LLMRequest

CALLS = "calls"
"""The log collection recorded model calls go to."""

_SNIPPET = 80


class ReplayError(LLLMError):
    """A recording cannot be replayed (missing, unreadable, or a caller is misconfigured)."""


class ReplayDivergenceError(ReplayError):
    """A request made during replay matches no recorded call: the run diverged from the
    recording (a prompt, tool result or code path changed). Re-record after intended changes."""

    def __init__(
        self,
        message: str,
        *,
        agent_name: str,
        turn: int,
        index: int | None = None,
        expected: str | None = None,
        got: str | None = None,
    ) -> None:
        self.agent_name = agent_name
        self.turn = turn
        self.index = index
        self.expected = expected
        self.got = got
        super().__init__(message)


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


class RecordingCaller:
    """Wraps a caller and records each request/reply pair to the ``calls`` collection.

    ``session`` overrides the session name recorded under (by default each request's own
    session). Nothing secret is recorded: only the conversation (role, content, tool calls),
    request identity (agent, dialog, turn, model, prompt) and the reply — never model args,
    headers or keys — and the log store redacts every record as usual.
    """

    def __init__(
        self,
        inner: LLMCaller | AsyncLLMCaller,
        store: LogStore,
        session: str | None = None,
    ) -> None:
        self.inner = inner
        self.store = store
        self.session = session

    def __repr__(self) -> str:
        return f"RecordingCaller({self.inner!r})"

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

        self.store.append(
            CALLS,
            self.session if self.session is not None else request.session,
            {
                "agent_name": request.agent_name,
                "dialog_id": request.dialog_id,
                "parent_dialog_id": request.parent_dialog_id,
                "turn": request.turn,
                "model": request.model,
                "prompt_path": request.prompt_path,
                "messages": [fingerprint(m) for m in request.messages],
                "reply": message_to_data(reply) if reply is not None else None,
                "error": error.describe() if error is not None else None,
                "deltas": deltas,
            },
        )


@define(frozen=True, slots=True)
class RecordedCall:
    """One model call as recorded by :class:`RecordingCaller`."""

    agent_name: str
    dialog_id: str
    parent_dialog_id: str | None
    turn: int
    messages: tuple[Mapping[str, Any], ...]
    reply: Message | None
    error: Mapping[str, Any] | None
    deltas: tuple[str, ...] | None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> RecordedCall:
        """A recorded call from its log record."""
        from lllm_domain.serialization import message_from_data

        reply = data.get("reply")
        deltas = data.get("deltas")
        return cls(
            agent_name=data.get("agent_name", ""),
            dialog_id=data.get("dialog_id", ""),
            parent_dialog_id=data.get("parent_dialog_id"),
            turn=int(data.get("turn", 0)),
            messages=tuple(data.get("messages", ())),
            reply=message_from_data(reply) if reply is not None else None,
            error=data.get("error"),
            deltas=tuple(deltas) if deltas is not None else None,
        )


class ReplayCaller:
    """Answers requests from a recording; sync and async. Never contacts a model.

    Build it with :meth:`from_store` (a recorded session) or from :class:`RecordedCall` s.
    A recorded API error is raised again, so retries replay too. A streaming request gets the
    recorded deltas (or the whole reply as one delta when the recording was not streamed).
    """

    def __init__(self, calls: Sequence[RecordedCall], *, session: str = "") -> None:
        self.calls = tuple(calls)
        self.session = session
        self._used = [False] * len(self.calls)
        self._dialogs: dict[str, str] = {}  # live dialog id -> recorded dialog id
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ReplayCaller(session={self.session!r}, calls={len(self.calls)})"

    @classmethod
    def from_store(cls, store: LogStore, session: str) -> ReplayCaller:
        """A replay caller for the calls recorded in ``session`` of ``store``."""
        records = store.read(CALLS, session)
        if not records:
            raise ReplayError(
                f"session {session!r} has no recorded calls in {store!r}; record a run with "
                "RecordingCaller(caller, store) first (known sessions: "
                f"{', '.join(repr(s) for s in store.sessions()[:10]) or 'none'})"
            )
        return cls([RecordedCall.from_data(r.data) for r in records], session=session)

    @property
    def remaining(self) -> int:
        """Recorded calls not replayed yet."""
        return self._used.count(False)

    def call(self, request: LLMRequest) -> Message:
        """The recorded reply to ``request`` (or its recorded API error)."""
        recorded = self._match(request)
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

    def _match(self, request: LLMRequest) -> RecordedCall:
        wanted = [fingerprint(m) for m in request.messages]
        with self._lock:
            candidates = [
                i
                for i, c in enumerate(self.calls)
                if not self._used[i] and c.agent_name == request.agent_name
            ]
            exact = [i for i in candidates if list(self.calls[i].messages) == wanted]
            if not exact:
                raise self._divergence(request, wanted, candidates)
            chosen = self._prefer(request, exact)
            self._used[chosen] = True
            recorded = self.calls[chosen]
            self._dialogs.setdefault(request.dialog_id, recorded.dialog_id)
            if request.parent_dialog_id and recorded.parent_dialog_id:
                self._dialogs.setdefault(request.parent_dialog_id, recorded.parent_dialog_id)
            return recorded

    def _prefer(self, request: LLMRequest, exact: list[int]) -> int:
        same_dialog = self._dialogs.get(request.dialog_id)
        same_parent = self._dialogs.get(request.parent_dialog_id or "")
        claimed = set(self._dialogs.values())
        for test in (
            lambda c: same_dialog is not None and c.dialog_id == same_dialog,
            lambda c: same_parent is not None and c.parent_dialog_id == same_parent,
            lambda c: c.dialog_id not in claimed,
        ):
            for i in exact:
                if test(self.calls[i]):
                    return i
        return exact[0]

    def _divergence(
        self, request: LLMRequest, wanted: list[dict[str, Any]], candidates: list[int]
    ) -> ReplayDivergenceError:
        agent = request.agent_name
        where = (
            f"agent {agent!r}, turn {request.turn} (its request after {request.turn} "
            f"message(s)), prompt {request.prompt_path!r}"
        )
        if not candidates:
            recorded = [c for c in self.calls if c.agent_name == agent]
            if not recorded:
                agents = sorted({c.agent_name for c in self.calls})
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
            call = self.calls[i]
            return (
                _common_prefix(call.messages, wanted),
                int(call.dialog_id == mapped),
                -abs(call.turn - request.turn),
            )

        best = self.calls[max(candidates, key=closeness)]
        index = _common_prefix(best.messages, wanted)
        expected = best.messages[index] if index < len(best.messages) else None
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
